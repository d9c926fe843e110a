-- Approval rules of pull requests, approval rule templates and their repositories, overrides.
CREATE TABLE cc_approval_rules (
    pull_request_id BIGINT NOT NULL,
    rule_name TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    content TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL,
    modified_user TEXT NOT NULL,
    template_id TEXT,
    template_name TEXT,
    PRIMARY KEY (pull_request_id, rule_name)
);
CREATE TABLE cc_approval_rule_templates (
    template_id TEXT PRIMARY KEY,
    template_name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    content TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL,
    modified_user TEXT NOT NULL
);
CREATE TABLE cc_template_repositories (
    template_id TEXT NOT NULL,
    repository_id TEXT NOT NULL,
    PRIMARY KEY (template_id, repository_id)
);
CREATE TABLE cc_pull_request_overrides (
    pull_request_id BIGINT NOT NULL,
    revision_id TEXT NOT NULL,
    overrider TEXT NOT NULL,
    PRIMARY KEY (pull_request_id, revision_id)
);
