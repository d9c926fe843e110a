-- S3: buckets, object versions (per key, the row with is_latest = 1 is what readers see;
-- unversioned buckets keep one version named 'null'), multipart uploads and their parts.
-- Object bytes live in the blob store under an opaque key; a row exists only once they do.
CREATE TABLE s3_buckets (
    bucket_name TEXT COLLATE "C" PRIMARY KEY,
    region TEXT NOT NULL,
    owner_arn TEXT NOT NULL,
    versioning TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE s3_objects (
    bucket_name TEXT COLLATE "C" NOT NULL,
    object_key TEXT COLLATE "C" NOT NULL,
    version_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    is_latest BIGINT NOT NULL,
    is_delete_marker BIGINT NOT NULL,
    blob_key TEXT,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    headers TEXT NOT NULL,
    modified_ms BIGINT NOT NULL,
    PRIMARY KEY (bucket_name, object_key, version_id)
);
CREATE INDEX s3_objects_latest ON s3_objects (bucket_name, is_latest, object_key);
CREATE INDEX s3_objects_versions ON s3_objects (bucket_name, object_key, seq);
CREATE TABLE s3_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket_name TEXT COLLATE "C" NOT NULL,
    object_key TEXT COLLATE "C" NOT NULL,
    headers TEXT NOT NULL,
    initiator_arn TEXT NOT NULL,
    initiated_ms BIGINT NOT NULL
);
CREATE INDEX s3_uploads_bucket ON s3_uploads (bucket_name, object_key, initiated_ms);
CREATE TABLE s3_parts (
    upload_id TEXT NOT NULL,
    part_number BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    headers TEXT NOT NULL,
    modified_ms BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
