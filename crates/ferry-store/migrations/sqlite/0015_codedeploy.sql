-- CodeDeploy: applications, deployment groups, custom deployment configurations, registered
-- revisions and on-premises instances (their API documents as JSON), deployments with the
-- columns the engine queries (status, lease), each deployment's targets, and the commands
-- the agents poll for (one per lifecycle event of one target).
CREATE TABLE cd_applications (
    app_name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE cd_groups (
    app_name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    group_id TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL,
    PRIMARY KEY (app_name, group_name)
);
CREATE TABLE cd_configs (
    config_name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE cd_revisions (
    app_name TEXT NOT NULL,
    revision_key TEXT NOT NULL,
    document TEXT NOT NULL,
    registered_ms BIGINT NOT NULL,
    PRIMARY KEY (app_name, revision_key)
);
CREATE TABLE cd_instances (
    instance_name TEXT PRIMARY KEY,
    iam_arn TEXT NOT NULL,
    registered BIGINT NOT NULL,
    document TEXT NOT NULL,
    last_seen_ms BIGINT
);
CREATE UNIQUE INDEX cd_instances_arn ON cd_instances (iam_arn) WHERE registered = 1;
CREATE TABLE cd_deployments (
    deployment_id TEXT PRIMARY KEY,
    app_name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    document TEXT NOT NULL,
    settings TEXT NOT NULL,
    stop_requested BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT
);
CREATE INDEX cd_deployments_group ON cd_deployments (app_name, group_name, created_ms);
CREATE INDEX cd_deployments_status ON cd_deployments (status, created_ms);
CREATE TABLE cd_targets (
    deployment_id TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (deployment_id, instance_name)
);
CREATE TABLE cd_commands (
    command_id TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    host_arn TEXT NOT NULL,
    command_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    diagnostics TEXT
);
CREATE INDEX cd_commands_host ON cd_commands (host_arn, status, created_ms);
CREATE INDEX cd_commands_deployment ON cd_commands (deployment_id, instance_name);
