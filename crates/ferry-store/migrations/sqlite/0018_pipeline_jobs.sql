-- CodePipeline custom action types (the API's ActionType as JSON, keyed
-- "Category/Custom/Provider/Version") and the jobs that hand their action executions to
-- external job workers (PollForJobs, AcknowledgeJob, PutJobSuccessResult, ...).
CREATE TABLE cp_action_types (
    type_key TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE cp_jobs (
    job_id TEXT PRIMARY KEY,
    type_key TEXT NOT NULL,
    status TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    document TEXT NOT NULL,
    result TEXT
);
CREATE INDEX cp_jobs_by_type ON cp_jobs (type_key, status, created_ms);
