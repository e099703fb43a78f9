-- Embedded store, schema version 6: stored backtest results.
--
-- A backtest (rolling-origin folds over the months in the store, every candidate method at
-- equal area) takes minutes on a county; its result is kept so that ``method=auto`` and the
-- API can reuse it while the data has not changed. The key is a hash the caller makes of the
-- data version, the selection and the candidates: the same key again means the same inputs, so
-- a new result under it replaces the old one. The document is the exact JSON text served.

CREATE TABLE backtests (
    key          TEXT PRIMARY KEY,
    data_version TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '{}',
    document     TEXT NOT NULL
);

CREATE INDEX backtests_created_at ON backtests (created_at);
