-- errors_daily
-- Grain: one row per (day, model, provider, error_type, http_status) with at least one failed
-- request (status = 'error': the errors users see; failed attempts rescued by a failover are
-- in provider_uptime_daily/hourly: failed_attempts, failovers_out).
--   errors       = failed requests of the class (additive)
--   requests     = ALL requests of (day, model, provider), repeated on each class row: NOT
--                  additive across classes. Roll-ups: sum(errors) / requests of the same slice
--                  from tool_call_rate_daily (the metrics layer does this).
--   error_share  = errors / requests (0-1): the class's share of the pair's requests that day.
-- The rescued rate (failures users never see) = failovers_out / failed_attempts of
-- provider_uptime_hourly, per provider and hour (metric 'rescued_rate').
-- NULL error_type/http_status/provider become '(unknown)' / -1 / '(unknown)'.

WITH r AS (
    SELECT day, model, coalesce(provider, '(unknown)') AS provider, status,
           coalesce(error_type, '(unknown)') AS error_type, coalesce(http_status, -1) AS http_status
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), pair AS (
    SELECT day, model, provider, count(*) AS requests FROM r GROUP BY ALL
)
SELECT
    e.day,                                                        -- UTC day of the requests (partition).
    e.model,                                                      -- Model slug 'vendor/model'.
    e.provider,                                                   -- Provider of the final attempt; '(unknown)' when not logged.
    e.error_type,                                                 -- Error class as logged (e.g. rate_limit, timeout); '(unknown)' when absent.
    e.http_status,                                                -- HTTP status of the final response; -1 when absent.
    count(*) AS errors,                                           -- Failed requests of this class.
    any_value(p.requests) AS requests,                            -- All requests of (day, model, provider): NOT additive across classes.
    count(*) / any_value(p.requests) AS error_share               -- errors / requests (0-1).
FROM r e
JOIN pair p USING (day, model, provider)
WHERE e.status = 'error'
GROUP BY e.day, e.model, e.provider, e.error_type, e.http_status
ORDER BY 1, 2, 3, 4, 5;
