-- Server-wide bans and mutes, token revocations and the moderation audit log (PostgreSQL).
CREATE TABLE account_sanctions (
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    until       BIGINT,
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE token_revocations (
    user_id         TEXT PRIMARY KEY,
    revoked_before  BIGINT NOT NULL
);

CREATE TABLE moderation_audit (
    id            TEXT PRIMARY KEY,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    scope         TEXT NOT NULL,
    reason        TEXT,
    duration_sec  BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX moderation_audit_time ON moderation_audit (created_at, id);
