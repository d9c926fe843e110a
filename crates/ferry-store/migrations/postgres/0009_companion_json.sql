-- The JSON 1.1 companion services: CloudWatch Logs (groups, streams, events), SSM Parameter
-- Store (parameters with every version and their labels) and Secrets Manager (secrets, their
-- versions and the staging labels on them). Secret values are sealed with the store's key.
CREATE TABLE log_groups (
    name TEXT COLLATE "C" PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    retention_days BIGINT,
    kms_key_id TEXT,
    log_group_class TEXT NOT NULL,
    -- the sequence number the next event of the group gets (orders events within a millisecond)
    next_seq BIGINT NOT NULL
);
CREATE TABLE log_streams (
    group_name TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    first_event_ms BIGINT,
    last_event_ms BIGINT,
    last_ingestion_ms BIGINT,
    stored_bytes BIGINT NOT NULL,
    PRIMARY KEY (group_name, name)
);
CREATE TABLE log_events (
    group_name TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    stream_name TEXT COLLATE "C" NOT NULL,
    ts_ms BIGINT NOT NULL,
    ingest_ms BIGINT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (group_name, seq)
);
CREATE INDEX log_events_time ON log_events (group_name, ts_ms, seq);
CREATE INDEX log_events_stream ON log_events (group_name, stream_name, ts_ms, seq);

CREATE TABLE ssm_parameters (
    name TEXT COLLATE "C" PRIMARY KEY,
    -- the latest version
    version BIGINT NOT NULL
);
CREATE TABLE ssm_parameter_versions (
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    param_type TEXT NOT NULL,
    -- sealed when param_type is SecureString
    value TEXT NOT NULL,
    description TEXT,
    key_id TEXT,
    allowed_pattern TEXT,
    tier TEXT NOT NULL,
    data_type TEXT NOT NULL,
    modified_ms BIGINT NOT NULL,
    modified_user TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE ssm_parameter_labels (
    name TEXT COLLATE "C" NOT NULL,
    label TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, label)
);

CREATE TABLE sm_secrets (
    arn TEXT PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT,
    kms_key_id TEXT,
    created_ms BIGINT NOT NULL,
    last_changed_ms BIGINT NOT NULL,
    last_accessed_ms BIGINT,
    -- set while the secret is scheduled for deletion (at deleted_ms + recovery_days)
    deleted_ms BIGINT,
    recovery_days BIGINT
);
CREATE TABLE sm_secret_versions (
    arn TEXT NOT NULL,
    version_id TEXT NOT NULL,
    -- sealed; base64 of the bytes when is_binary = 1
    value TEXT NOT NULL,
    is_binary BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (arn, version_id)
);
CREATE TABLE sm_version_stages (
    arn TEXT NOT NULL,
    stage TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (arn, stage)
);
