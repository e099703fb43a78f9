-- PostGIS store, schema version 10: stored priority reports.
--
-- A report (a period's figures for each plan priority against the year before) is kept as the
-- exact JSON text it was made as (text, not jsonb, which would reorder its keys), with the
-- store's data version at that moment, so the one taken to a meeting can be shown again
-- unchanged. Reports are never changed.

CREATE TABLE reports (
    report_id    text PRIMARY KEY,
    kind         text NOT NULL,
    period       text NOT NULL,
    period_start bigint NOT NULL,
    period_end   bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL DEFAULT '',
    data_version text NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}',
    document     text NOT NULL
);

CREATE INDEX reports_created_at ON reports (created_at);

CREATE FUNCTION reports_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a stored report is never changed';
END;
$$;

CREATE TRIGGER reports_final BEFORE UPDATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION reports_final();
