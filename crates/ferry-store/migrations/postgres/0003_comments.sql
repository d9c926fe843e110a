-- CodeCommit comments on pull requests and on compared commits, with replies.
CREATE TABLE cc_comments (
    comment_id TEXT PRIMARY KEY,
    repository_id TEXT NOT NULL,
    pull_request_id BIGINT,
    before_commit TEXT NOT NULL,
    after_commit TEXT NOT NULL,
    before_blob TEXT,
    after_blob TEXT,
    location TEXT NOT NULL,
    in_reply_to TEXT,
    content TEXT NOT NULL,
    author_arn TEXT NOT NULL,
    deleted BIGINT NOT NULL,
    client_request_token TEXT,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE INDEX cc_comments_context ON cc_comments (repository_id, after_commit, before_commit);
CREATE INDEX cc_comments_pull ON cc_comments (pull_request_id);
CREATE UNIQUE INDEX cc_comments_token ON cc_comments (client_request_token);
