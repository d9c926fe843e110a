-- CodeArtifact package groups: a domain's groups by pattern, each with its contact
-- information, description and origin configuration (restriction modes and allowed
-- repositories) as a JSON document. The root group `/*` is stored once it is changed.
CREATE TABLE ca_package_groups (
    domain TEXT NOT NULL REFERENCES ca_domains (name) ON DELETE CASCADE,
    pattern TEXT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (domain, pattern)
);
