-- Notifications, follows and presence (SQLite).
CREATE TABLE notifications (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    actor_id      TEXT,
    actor_count   BIGINT NOT NULL DEFAULT 1,
    subject_kind  TEXT,
    subject_id    TEXT,
    body          TEXT NOT NULL,
    phrase        TEXT NOT NULL,
    data          TEXT NOT NULL,
    group_key     TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    read_at       BIGINT
);
CREATE INDEX notifications_inbox ON notifications (user_id, updated_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id, read_at);
CREATE INDEX notifications_group ON notifications (user_id, group_key, updated_at);

CREATE TABLE notification_actors (
    notification_id  TEXT NOT NULL,
    actor_id         TEXT NOT NULL,
    PRIMARY KEY (notification_id, actor_id)
);

CREATE TABLE follows (
    follower_id  TEXT NOT NULL,
    followee_id  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, follower_id);

CREATE TABLE last_seen (
    user_id  TEXT PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);
