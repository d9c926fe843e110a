-- CodeArtifact: domains and repositories (the API's fields as JSON documents), packages with
-- their origin controls, versions with their status and publication time (the rest of a
-- version, format metadata included, as JSON), and assets. An asset's bytes are a blob keyed
-- by their SHA-256, shared by every asset with the same content. Authorization tokens are
-- kept as their SHA-256 only.
CREATE TABLE ca_domains (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE ca_repositories (
    domain TEXT NOT NULL REFERENCES ca_domains (name),
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (domain, name)
);
CREATE TABLE ca_packages (
    domain TEXT NOT NULL,
    repository TEXT NOT NULL,
    format TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (domain, repository, format, namespace, name),
    FOREIGN KEY (domain, repository) REFERENCES ca_repositories (domain, name)
);
CREATE TABLE ca_versions (
    domain TEXT NOT NULL,
    repository TEXT NOT NULL,
    format TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    published_ms BIGINT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (domain, repository, format, namespace, name, version),
    FOREIGN KEY (domain, repository, format, namespace, name)
        REFERENCES ca_packages (domain, repository, format, namespace, name)
);
CREATE TABLE ca_assets (
    domain TEXT NOT NULL,
    repository TEXT NOT NULL,
    format TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    asset TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (domain, repository, format, namespace, name, version, asset),
    FOREIGN KEY (domain, repository, format, namespace, name, version)
        REFERENCES ca_versions (domain, repository, format, namespace, name, version)
);
CREATE INDEX ca_assets_sha256 ON ca_assets (sha256);
CREATE TABLE ca_tokens (
    token_hash TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    principal_arn TEXT NOT NULL,
    user_name TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
