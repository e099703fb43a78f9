-- PostGIS store, schema version 7: products published for partners (never changed).
--
-- A published product is the document partners read (counts on the force grid for one whole
-- month or quarter, small counts held back), kept as the exact JSON text every answer is made
-- from (text, not jsonb, which would reorder its keys), so everyone who asks gets the same bytes. Products
-- of one kind never overlap in time (the store checks it under a lock when it adds one): no
-- product can be subtracted from another. A trigger refuses to change or delete a product once
-- it is published.

CREATE TABLE published_products (
    kind         text NOT NULL,
    period       text NOT NULL,
    period_start bigint NOT NULL,
    period_end   bigint NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    data_version text NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}',
    document     text NOT NULL,
    PRIMARY KEY (kind, period)
);

CREATE INDEX published_products_start ON published_products (kind, period_start);

CREATE FUNCTION published_products_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published product is never changed';
END;
$$;

CREATE TRIGGER published_products_final BEFORE UPDATE OR DELETE OR TRUNCATE ON published_products
    FOR EACH STATEMENT EXECUTE FUNCTION published_products_final();
