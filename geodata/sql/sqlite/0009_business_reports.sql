-- Embedded store, schema version 9: incidents reported by businesses through the retail and
-- business crime reduction partnership.
--
-- Their own source, never mixed with police-recorded incidents: a shop's report of a theft or
-- of abuse of staff (time, place, type, optional value in pence), kept with the partner key
-- that sent it (a partner reads back only its own).

CREATE TABLE business_reports (
    report_id    TEXT PRIMARY KEY,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    category     TEXT NOT NULL,
    x            REAL NOT NULL,
    y            REAL NOT NULL,
    lon          REAL NOT NULL,
    lat          REAL NOT NULL,
    business     TEXT NOT NULL DEFAULT '',
    value_pence  INTEGER,
    description  TEXT NOT NULL DEFAULT ''
);

CREATE INDEX business_reports_by ON business_reports (submitted_by, occurred_at);
CREATE INDEX business_reports_when ON business_reports (occurred_at);
