-- Chat rooms, members with their read positions, messages and reactions (SQLite).
-- A room's last message and a member's unread count are read from chat_messages_room,
-- so sending a message writes one row.
CREATE TABLE chat_rooms (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    title       TEXT,
    -- Direct rooms only: "{a} {b}" with a < b, so a pair has one room.
    direct_key  TEXT UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE chat_members (
    room_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    joined_at     BIGINT NOT NULL,
    -- The newest message this member has read (ids are time-ordered).
    last_read_id  TEXT,
    last_read_at  BIGINT,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members (user_id, room_id);

CREATE TABLE chat_messages (
    id             TEXT PRIMARY KEY,
    room_id        TEXT NOT NULL,
    sender_id      TEXT NOT NULL,
    client_msg_id  TEXT NOT NULL,
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL,
    lat            REAL,
    lng            REAL,
    reply_to       TEXT,
    created_at     BIGINT NOT NULL,
    edited_at      BIGINT,
    deleted_at     BIGINT
);
-- A resent message (same sender, same clientMsgId) is stored once.
CREATE UNIQUE INDEX chat_messages_client ON chat_messages (sender_id, client_msg_id);
CREATE INDEX chat_messages_room ON chat_messages (room_id, id);

CREATE TABLE chat_reactions (
    message_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    emoji       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);
