-- Embedded store, schema version 5: products published for partners (never changed).
--
-- A published product is the document partners read (counts on the force grid for one whole
-- month or quarter, small counts held back), kept as the exact JSON text every answer is made from, so
-- everyone who asks gets the same bytes. Products of one kind never overlap in time (the store
-- checks it when it adds one): no product can be subtracted from another. Triggers refuse to
-- change or delete a product once it is published.

CREATE TABLE published_products (
    kind         TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    data_version TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '{}',
    document     TEXT NOT NULL,
    PRIMARY KEY (kind, period)
);

CREATE INDEX published_products_start ON published_products (kind, period_start);

CREATE TRIGGER published_products_no_update BEFORE UPDATE ON published_products BEGIN SELECT RAISE(ABORT, 'a published product is never changed'); END;

CREATE TRIGGER published_products_no_delete BEFORE DELETE ON published_products BEGIN SELECT RAISE(ABORT, 'a published product is never changed'); END;
