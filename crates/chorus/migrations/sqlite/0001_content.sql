-- Users, content and content interactions (SQLite).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    avatar      TEXT,
    verified    BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX users_username ON users (username);

CREATE TABLE content (
    id            TEXT PRIMARY KEY,
    content_type  TEXT NOT NULL,
    owner_id      TEXT,
    title         TEXT,
    created_at    BIGINT NOT NULL,
    likes         BIGINT NOT NULL DEFAULT 0,
    comments      BIGINT NOT NULL DEFAULT 0,
    views         BIGINT NOT NULL DEFAULT 0,
    shares        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX content_type_likes ON content (content_type, likes DESC, id);
CREATE INDEX content_owner_likes ON content (owner_id, likes DESC, id);

CREATE TABLE likes (
    content_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (content_id, user_id)
);

CREATE TABLE views (
    content_id       TEXT NOT NULL,
    viewer_key       TEXT NOT NULL,
    last_counted_at  BIGINT NOT NULL,
    PRIMARY KEY (content_id, viewer_key)
);

CREATE TABLE shares (
    id          TEXT PRIMARY KEY,
    content_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    channel     TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX shares_content ON shares (content_id);

CREATE TABLE comments (
    id           TEXT PRIMARY KEY,
    content_id   TEXT NOT NULL,
    parent_id    TEXT,
    author_id    TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    edited_at    BIGINT,
    deleted_at   BIGINT,
    reply_count  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX comments_thread ON comments (content_id, parent_id, id);

CREATE TABLE comment_reactions (
    comment_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    emoji       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (comment_id, emoji, user_id)
);

CREATE TABLE watch_progress (
    content_id      TEXT NOT NULL,
    viewer_id       TEXT NOT NULL,
    watch_time_sec  REAL NOT NULL,
    completed       BIGINT NOT NULL,
    quality         TEXT,
    buffering_sec   REAL,
    reports         BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (content_id, viewer_id)
);
