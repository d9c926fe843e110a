-- CodePipeline webhooks: each definition (the API's ListWebhookItem as JSON) under its name,
-- with the random token of its trigger URL.
CREATE TABLE cp_webhooks (
    name TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL
);
