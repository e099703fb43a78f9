-- Stored priority reports: written once, never changed (a trigger refuses any UPDATE).

-- name: add_report
INSERT INTO reports (report_id, kind, period, period_start, period_end, created_at, created_by,
                     data_version, summary, document)
VALUES (:report_id, :kind, :period, :period_start, :period_end, {now_us}, :created_by,
        :data_version, :summary, :document);

-- name: report
SELECT report_id, kind, period, period_start, period_end, created_at, created_by, data_version,
       summary, document
FROM reports WHERE report_id = :report_id;

-- name: list_reports
SELECT report_id, kind, period, period_start, period_end, created_at, created_by, data_version,
       summary
FROM reports
ORDER BY created_at DESC, report_id LIMIT :limit;
