-- SSH public keys of users, for git over SSH (key ids in IAM's APKA... form).
CREATE TABLE ssh_keys (
    key_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (user_name),
    public_key TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
