-- Slow mode across nodes (PostgreSQL): each viewer's last message that passed slow mode, per
-- stream, taken with one conditional upsert so two nodes never both let one through.
CREATE TABLE stream_slow_mode (
    stream_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (stream_id, user_id)
);
