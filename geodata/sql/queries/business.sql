-- Incidents reported by businesses through the retail and business crime reduction
-- partnership: their own source, never read with police-recorded incidents.

-- name: add_business_report
INSERT INTO business_reports (report_id, submitted_by, submitted_at, occurred_at, category, x,
                              y, lon, lat, business, value_pence, description)
VALUES (:report_id, :submitted_by, {now}, :occurred_at, :category, :x, :y, :lon, :lat,
        :business, :value_pence, :description);

-- name: business_report
SELECT report_id, submitted_by, submitted_at, occurred_at, category, x, y, lon, lat, business,
       value_pence, description
FROM business_reports WHERE report_id = :report_id;

-- name: business_reports
SELECT report_id, submitted_by, submitted_at, occurred_at, category, x, y, lon, lat, business,
       value_pence, description
FROM business_reports
WHERE (:everyone OR submitted_by = :submitted_by)
  AND occurred_at >= :start AND occurred_at < :end
ORDER BY occurred_at DESC, report_id LIMIT :limit;

-- name: count_business_reports
SELECT count(*) FROM business_reports
WHERE (:everyone OR submitted_by = :submitted_by)
  AND occurred_at >= :start AND occurred_at < :end;

-- name: count_business_submissions (sqlite)
SELECT count(*) FROM business_reports
WHERE submitted_by = :submitted_by AND submitted_at >= :since;

-- name: count_business_submissions (postgis)
SELECT count(*) FROM business_reports
WHERE submitted_by = :submitted_by AND submitted_at >= CAST(:since AS timestamptz);
