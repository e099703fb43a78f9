-- PostGIS store, schema version 11: incidents reported by businesses through the retail and
-- business crime reduction partnership.
--
-- Their own source, never mixed with police-recorded incidents: a shop's report of a theft or
-- of abuse of staff (time, place, type, optional value in pence), kept with the partner key
-- that sent it (a partner reads back only its own).

CREATE TABLE business_reports (
    report_id    text PRIMARY KEY,
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    occurred_at  bigint NOT NULL,
    category     text NOT NULL,
    x            double precision NOT NULL,
    y            double precision NOT NULL,
    lon          double precision NOT NULL,
    lat          double precision NOT NULL,
    business     text NOT NULL DEFAULT '',
    value_pence  bigint,
    description  text NOT NULL DEFAULT ''
);

CREATE INDEX business_reports_by ON business_reports (submitted_by, occurred_at);
CREATE INDEX business_reports_when ON business_reports (occurred_at);
