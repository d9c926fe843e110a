-- CodePipeline: each pipeline's current declaration (as the API's JSON) with its metadata and
-- the lease of the node driving its executions; every version ever stored (GetPipeline with a
-- version); executions as the engine's JSON record with the columns queries need; and stage
-- transitions that were disabled.
CREATE TABLE cp_pipelines (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT
);
CREATE TABLE cp_pipeline_versions (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE cp_executions (
    execution_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX cp_executions_by_pipeline ON cp_executions (pipeline, started_ms);
CREATE TABLE cp_transitions (
    pipeline TEXT NOT NULL,
    stage TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (pipeline, stage)
);
