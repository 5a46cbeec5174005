-- Live streams: streams, their chat, sanctions and strikes; wallets, the coin ledger,
-- gifter standings and battles (PostgreSQL).
CREATE TABLE streams (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL,
    title           TEXT NOT NULL,
    status          TEXT NOT NULL,
    slow_mode_secs  BIGINT NOT NULL DEFAULT 0,
    likes           BIGINT NOT NULL DEFAULT 0,
    gifts           BIGINT NOT NULL DEFAULT 0,
    coins           BIGINT NOT NULL DEFAULT 0,
    peak_viewers    BIGINT NOT NULL DEFAULT 0,
    throne_user_id  TEXT,
    throne_coins    BIGINT NOT NULL DEFAULT 0,
    -- The pending or running battle; cleared when it is settled.
    battle_id       TEXT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    ended_at        BIGINT
);
CREATE INDEX streams_status ON streams (status, created_at DESC);
CREATE INDEX streams_owner ON streams (owner_id, created_at DESC);

CREATE TABLE stream_messages (
    id          TEXT PRIMARY KEY,
    stream_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT,
    deleted_by  TEXT
);
CREATE INDEX stream_messages_stream ON stream_messages (stream_id, id);

-- Mutes and bans per stream; `until` NULL lasts until lifted.
CREATE TABLE stream_sanctions (
    stream_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    until       BIGINT,
    reason      TEXT,
    by_user     TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (stream_id, user_id, kind)
);

-- Blocked texts held against their author in a scope (a stream); the text is not kept.
CREATE TABLE moderation_strikes (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX moderation_strikes_user ON moderation_strikes (scope, user_id, created_at);

-- Spendable coins. The CHECK is a second guard: every debit is a conditional UPDATE.
CREATE TABLE wallets (
    user_id     TEXT PRIMARY KEY,
    balance     BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at  BIGINT NOT NULL
);

-- Coins a creator earned from gifts and boosts (not spendable here).
CREATE TABLE creator_earnings (
    user_id     TEXT PRIMARY KEY,
    coins       BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

-- One row per coin movement. (user_id, scope, reference) makes retries safe:
-- scope `credit` holds backend references, scope `tx` clients' clientTxIds.
CREATE TABLE wallet_ledger (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    reference      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    balance_after  BIGINT NOT NULL,
    recipient_id   TEXT,
    stream_id      TEXT,
    item_id        TEXT,
    item_count     BIGINT NOT NULL DEFAULT 1,
    battle_id      TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (user_id, scope, reference)
);
CREATE INDEX wallet_ledger_user ON wallet_ledger (user_id, created_at);

-- Coins each viewer gave each stream (the throne) and each creator (OG tiers).
CREATE TABLE stream_gifters (
    stream_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    coins      BIGINT NOT NULL,
    PRIMARY KEY (stream_id, user_id)
);

CREATE TABLE supporter_totals (
    creator_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    coins       BIGINT NOT NULL,
    PRIMARY KEY (creator_id, user_id)
);

-- Side a is the challenger, side b the invited stream.
CREATE TABLE battles (
    id                 TEXT PRIMARY KEY,
    stream_a           TEXT NOT NULL,
    owner_a            TEXT NOT NULL,
    stream_b           TEXT NOT NULL,
    owner_b            TEXT NOT NULL,
    status             TEXT NOT NULL,
    duration_secs      BIGINT NOT NULL,
    score_a            BIGINT NOT NULL DEFAULT 0,
    score_b            BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    invite_expires_at  BIGINT NOT NULL,
    started_at         BIGINT,
    ends_at            BIGINT,
    ended_at           BIGINT
);
CREATE INDEX battles_status ON battles (status);
