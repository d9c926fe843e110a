-- The web console's sign-in: each user's password as an argon2 PHC string (never the
-- password itself), and the sessions signed in, kept as the SHA-256 of their cookie token
-- with the CSRF token their forms carry and when they expire.
CREATE TABLE console_passwords (
    user_name TEXT PRIMARY KEY,
    phc TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_ms);
