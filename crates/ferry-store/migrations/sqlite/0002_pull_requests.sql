-- CodeCommit pull requests, their events and approvals.
CREATE TABLE cc_pull_requests (
    pull_request_id BIGINT PRIMARY KEY,
    repository_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    author_arn TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    destination_ref TEXT NOT NULL,
    source_commit TEXT NOT NULL,
    destination_commit TEXT NOT NULL,
    merge_base TEXT,
    is_merged BIGINT NOT NULL,
    merged_by TEXT,
    merge_commit TEXT,
    merge_option TEXT,
    revision_id TEXT NOT NULL,
    client_request_token TEXT,
    created_ms BIGINT NOT NULL,
    last_activity_ms BIGINT NOT NULL
);
CREATE INDEX cc_pull_requests_repo ON cc_pull_requests (repository_id, pull_request_id);
CREATE UNIQUE INDEX cc_pull_requests_token ON cc_pull_requests (client_request_token);
CREATE TABLE cc_pull_request_events (
    pull_request_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    actor_arn TEXT NOT NULL,
    event_ms BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (pull_request_id, seq)
);
CREATE TABLE cc_pull_request_approvals (
    pull_request_id BIGINT NOT NULL,
    revision_id TEXT NOT NULL,
    user_arn TEXT NOT NULL,
    approval_state TEXT NOT NULL,
    PRIMARY KEY (pull_request_id, revision_id, user_arn)
);
