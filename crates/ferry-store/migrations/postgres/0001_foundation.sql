-- Foundation: installation settings, identities, CodeCommit repositories, tags.
CREATE TABLE meta (
    meta_key TEXT PRIMARY KEY,
    meta_value TEXT NOT NULL
);
CREATE TABLE users (
    user_name TEXT COLLATE "C" PRIMARY KEY,
    arn TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (user_name),
    secret_enc TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE git_credentials (
    service_user_name TEXT COLLATE "C" PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (user_name),
    password_sha256 TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE cc_repositories (
    repository_id TEXT PRIMARY KEY,
    repository_name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT,
    default_branch TEXT,
    kms_key_id TEXT,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL,
    -- Bumped on every ref or HEAD change; keys the cached ref advertisements.
    refs_version BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cc_repositories_modified ON cc_repositories (modified_ms, repository_name);
CREATE TABLE resource_tags (
    resource_id TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (resource_id, tag_key)
);
