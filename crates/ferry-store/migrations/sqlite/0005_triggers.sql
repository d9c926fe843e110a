-- CodeCommit repository triggers: one configuration (a JSON list of triggers) per repository.
CREATE TABLE cc_repository_triggers (
    repository_id TEXT PRIMARY KEY,
    configuration_id TEXT NOT NULL,
    triggers TEXT NOT NULL
);
