-- Players that say whether they are buffering now (`buffering: true|false`) rather than
-- for how long: the reports in which one was buffering, per viewer and item.
ALTER TABLE watch_progress ADD COLUMN buffering_reports BIGINT NOT NULL DEFAULT 0;
