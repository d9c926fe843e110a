-- CodeBuild resource policies (on projects and report groups) and imported source-provider
-- credentials (the token sealed at rest; one per server type).
CREATE TABLE cb_resource_policies (
    resource_arn TEXT COLLATE "C" PRIMARY KEY,
    policy TEXT NOT NULL
);
CREATE TABLE cb_source_credentials (
    server_type TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    username TEXT,
    token_enc TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
