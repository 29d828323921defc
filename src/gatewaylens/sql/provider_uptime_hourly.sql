-- provider_uptime_hourly
-- Grain: one row per (day, hour, provider): provider_uptime_daily per UTC hour of the attempt's
-- start (provider_attempts.ts). Same definitions. day is the request's UTC day: an attempt started
-- just after midnight for a request started just before it keeps the request's day, so (hour,
-- provider) can very rarely appear under two days - sum over day when rolling up by hour.
-- Only hours with at least one attempt have a row (no row = no traffic, not an outage).

WITH a AS (
    SELECT a.day, date_trunc('hour', a.ts) AS hour, a.provider, a.latency_ms,
           coalesce(a.http_status >= 400, a.attempt_no < r.attempts OR r.status = 'error') AS failed,
           coalesce(a.http_status >= 400, a.attempt_no < r.attempts OR r.status = 'error') AND r.status = 'success' AND r.provider IS DISTINCT FROM a.provider
               AND a.attempt_no < r.attempts AS failover_out
    FROM provider_attempts a
    JOIN requests r ON r.request_id = a.request_id
                   AND r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
    WHERE a.day BETWEEN getvariable('start_day') AND getvariable('end_day')
)
SELECT
    day,                                                      -- UTC day of the requests (partition).
    hour,                                                     -- Start of the UTC hour of the attempt.
    provider,                                                 -- Provider attempted.
    count(*) AS attempts,                                     -- Attempts at the provider.
    count(*) FILTER (WHERE failed) AS failed_attempts,        -- Attempts with http_status >= 400 (no status: retried, or the request failed).
    1 - count(*) FILTER (WHERE failed) / count(*) AS success_rate,  -- 1 - failed_attempts / attempts (0-1).
    count(*) FILTER (WHERE failover_out) AS failovers_out,    -- Requests that failed here and were served by another provider.
    quantile_cont(latency_ms, 0.5) AS latency_p50_ms,         -- Median attempt latency, ms.
    quantile_cont(latency_ms, 0.95) AS latency_p95_ms         -- 95th percentile attempt latency, ms.
FROM a
GROUP BY day, hour, provider
ORDER BY day, hour, provider;
