-- Embedded store, schema version 8: stored priority reports.
--
-- A report (a period's figures for each plan priority against the year before) is kept as the
-- exact JSON text it was made as, with the store's data version at that moment, so the one
-- taken to a meeting can be shown again unchanged. Reports are never changed.

CREATE TABLE reports (
    report_id    TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    data_version TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '{}',
    document     TEXT NOT NULL
);

CREATE INDEX reports_created_at ON reports (created_at);

CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports BEGIN SELECT RAISE(ABORT, 'a stored report is never changed'); END;
