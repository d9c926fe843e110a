-- Emoji reactions to comments: one per user per comment.
CREATE TABLE cc_comment_reactions (
    comment_id TEXT NOT NULL,
    user_arn TEXT NOT NULL,
    reaction TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_arn)
);
