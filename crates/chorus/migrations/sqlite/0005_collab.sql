-- Collaborative documents (SQLite): documents, their editors and viewers (the owner is
-- not a member row), and their content as a Yjs update log compacted into snapshots.
CREATE TABLE collab_docs (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX collab_docs_owner ON collab_docs (owner_id);

CREATE TABLE collab_members (
    doc_id    TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    -- 'editor' or 'viewer'.
    role      TEXT NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (doc_id, user_id)
);
CREATE INDEX collab_members_user ON collab_members (user_id, doc_id);

-- The merged state (a Yjs v1 update) including every logged update up to through_seq.
CREATE TABLE collab_snapshots (
    doc_id       TEXT PRIMARY KEY,
    state        BLOB NOT NULL,
    through_seq  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Yjs v1 updates accepted since the snapshot, numbered per document.
CREATE TABLE collab_updates (
    doc_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    body        BLOB NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
