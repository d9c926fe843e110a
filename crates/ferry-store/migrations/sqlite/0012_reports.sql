-- CodeBuild reports: report groups and reports (their API documents as JSON), and the test
-- cases and per-file coverage of each report, in rows so they can be filtered and paged.
CREATE TABLE cb_report_groups (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE TABLE cb_reports (
    arn TEXT PRIMARY KEY,
    group_arn TEXT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX cb_reports_group ON cb_reports (group_arn, created_ms);
CREATE TABLE cb_test_cases (
    report_arn TEXT NOT NULL,
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT,
    suite TEXT,
    duration_ns BIGINT NOT NULL,
    message TEXT,
    raw_path TEXT NOT NULL,
    PRIMARY KEY (report_arn, seq)
);
CREATE TABLE cb_coverage (
    report_arn TEXT NOT NULL,
    file_path TEXT NOT NULL,
    line_pct REAL,
    lines_covered BIGINT,
    lines_missed BIGINT,
    branch_pct REAL,
    branches_covered BIGINT,
    branches_missed BIGINT,
    PRIMARY KEY (report_arn, file_path)
);
