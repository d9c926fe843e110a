-- CodeBuild: projects (their API definition as JSON, and the build-number counter) and builds
-- (the API's Build document as JSON, plus the columns the scheduler queries: queue state,
-- lease, stop request).
CREATE TABLE cb_projects (
    project_name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    definition TEXT NOT NULL,
    build_counter BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE TABLE cb_builds (
    build_id TEXT PRIMARY KEY,
    project_name TEXT NOT NULL,
    build_number BIGINT NOT NULL,
    queue_state TEXT NOT NULL,
    document TEXT NOT NULL,
    settings TEXT NOT NULL,
    submitted_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT,
    stop_requested BIGINT NOT NULL
);
CREATE INDEX cb_builds_project ON cb_builds (project_name, build_number);
CREATE INDEX cb_builds_queue ON cb_builds (queue_state, submitted_ms);
