-- The webhook outbox (PostgreSQL): one row per delivery still owed to an endpoint, written in the same
-- transaction as the change that causes it, deleted once the endpoint answers 2xx. A row
-- with `failed_at` set is a dead letter (retried until `give_up_at`), kept until replayed.
-- `seq` orders deliveries: per (endpoint, subject) only the oldest row still owed is sent.
CREATE TABLE webhook_outbox (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    endpoint       TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    give_up_at     BIGINT NOT NULL,
    next_at        BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    failed_at      BIGINT,
    claimed_by     TEXT,
    claimed_until  BIGINT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (endpoint, failed_at, next_at);
CREATE INDEX webhook_outbox_subject ON webhook_outbox (endpoint, subject, seq);
