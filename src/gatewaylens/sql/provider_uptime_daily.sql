-- provider_uptime_daily
-- Grain: one row per (day, provider), from provider_attempts (every attempt, failovers included).
--   failed attempt = http_status >= 400; without a status (not every source reports one): an attempt
--                    followed by another one, or the last attempt of a failed request;  success_rate = 1 - failed_attempts / attempts;
--   failovers_out  = requests whose attempt at this provider failed and that another provider then
--                    served successfully (requests.provider <> this provider, status 'success').
-- day is the request's UTC day (provider_attempts.day). Latency percentiles are over all attempts.

WITH a AS (
    SELECT a.day, a.provider, a.latency_ms,
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
    provider,                                                 -- Provider attempted.
    count(*) AS attempts,                                     -- Attempts at the provider.
    count(*) FILTER (WHERE failed) AS failed_attempts,        -- Attempts with http_status >= 400 (no status: retried, or the request failed).
    1 - count(*) FILTER (WHERE failed) / count(*) AS success_rate,  -- 1 - failed_attempts / attempts (0-1).
    count(*) FILTER (WHERE failover_out) AS failovers_out,    -- Requests that failed here and were served by another provider.
    quantile_cont(latency_ms, 0.5) AS latency_p50_ms,         -- Median attempt latency, ms.
    quantile_cont(latency_ms, 0.95) AS latency_p95_ms         -- 95th percentile attempt latency, ms.
FROM a
GROUP BY day, provider
ORDER BY day, provider;
