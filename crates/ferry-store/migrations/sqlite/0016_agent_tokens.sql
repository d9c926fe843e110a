-- Agent registration tokens (a Ferry extension): an operator mints one with
-- `ferry admin create-agent-token`; a `ferry agent` presents it once to get an IAM user and an
-- access key of its own and to register its host. Only the token's SHA-256 is kept.
CREATE TABLE cd_agent_tokens (
    token_hash TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    uses_left BIGINT NOT NULL
);
