-- IAM paths for users, roles (trust policy stored, not yet evaluated), and the temporary
-- credentials STS issues (secret sealed, session token kept only as its SHA-256).
ALTER TABLE users ADD COLUMN path TEXT NOT NULL DEFAULT '/';
CREATE TABLE iam_roles (
    role_name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    path TEXT NOT NULL,
    trust_policy TEXT NOT NULL,
    description TEXT,
    max_session_s BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE sts_sessions (
    access_key_id TEXT PRIMARY KEY,
    secret_enc TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    principal_arn TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX sts_sessions_expiry ON sts_sessions (expires_ms);
