-- CodeBuild batch builds: a per-project batch counter, and batches (the API's BuildBatch
-- document as JSON, the StartBuildBatch settings, and a queue state QUEUED/RUNNING/DONE).
ALTER TABLE cb_projects ADD COLUMN batch_counter BIGINT NOT NULL DEFAULT 0;
CREATE TABLE cb_batches (
    batch_id TEXT COLLATE "C" PRIMARY KEY,
    project_name TEXT COLLATE "C" NOT NULL,
    batch_number BIGINT NOT NULL,
    queue_state TEXT NOT NULL,
    document TEXT NOT NULL,
    settings TEXT NOT NULL,
    submitted_ms BIGINT NOT NULL
);
CREATE INDEX cb_batches_project ON cb_batches (project_name, batch_number);
