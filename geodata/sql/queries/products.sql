-- Published products (never changed once published) and stored backtest results.

-- name: overlapping_product
SELECT period FROM published_products
WHERE kind = :kind AND period_start < :period_end AND period_end > :period_start
ORDER BY period_start LIMIT 1;

-- name: add_product
INSERT INTO published_products (kind, period, period_start, period_end, published_at,
                                data_version, summary, document)
VALUES (:kind, :period, :period_start, :period_end, {now}, :data_version, :summary, :document);

-- name: product
SELECT kind, period, period_start, period_end, published_at, data_version, summary, document
FROM published_products WHERE kind = :kind AND period = :period;

-- name: list_products
SELECT kind, period, period_start, period_end, published_at, data_version, summary
FROM published_products WHERE kind = :kind
ORDER BY period_start DESC LIMIT :limit;

-- name: put_backtest
INSERT INTO backtests (key, data_version, created_at, summary, document)
VALUES (:key, :data_version, {now_us}, :summary, :document)
ON CONFLICT (key) DO UPDATE SET data_version = excluded.data_version,
    created_at = excluded.created_at, summary = excluded.summary, document = excluded.document;

-- name: backtest
SELECT key, data_version, created_at, summary, document FROM backtests WHERE key = :key;

-- name: list_backtests
SELECT key, data_version, created_at, summary FROM backtests
ORDER BY created_at DESC, key LIMIT :limit;
