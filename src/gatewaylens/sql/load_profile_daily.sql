-- load_profile_daily
-- Grain: one row per day (read from load_hourly and load_minutely: build them first).
--   mean_hour_requests = requests / 24 (every hour of the UTC day counts, idle hours included);
--   peak_to_mean       = peak_hour_requests / mean_hour_requests (1 = flat, 24 = all in one hour);
--   batch_window_share = requests starting in [batch_window_start_hour, batch_window_end_hour) UTC / requests.
-- Caveat: a partial day (e.g. the first day of a trace) has a low mean and so a high peak_to_mean.
-- Bind: start_day, end_day, batch_window_start_hour, batch_window_end_hour.

WITH hours AS (
    SELECT day, hour, sum(requests) AS requests
    FROM load_hourly
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day, hour
), minutes AS (
    SELECT day, max(requests) AS peak_minute_requests
    FROM load_minutely
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day
), per_day AS (
    SELECT
        day,
        sum(requests) AS requests,
        count(*) AS active_hours,
        first(hour ORDER BY requests DESC, hour ASC) AS peak_hour,
        max(requests) AS peak_hour_requests,
        coalesce(sum(requests) FILTER (
            WHERE hour(hour) >= getvariable('batch_window_start_hour')
              AND hour(hour) < getvariable('batch_window_end_hour')), 0) AS batch_window_requests
    FROM hours
    GROUP BY day
)
SELECT
    p.day,                                                    -- UTC day (partition).
    CAST(p.requests AS BIGINT) AS requests,                     -- Requests of the day.
    CAST(p.active_hours AS INTEGER) AS active_hours,          -- Hours with at least one request.
    p.peak_hour,                                              -- Busiest UTC hour (earliest on ties).
    CAST(p.peak_hour_requests AS BIGINT) AS peak_hour_requests,  -- Requests in the busiest hour.
    p.requests / 24.0 AS mean_hour_requests,                  -- requests / 24.
    p.peak_hour_requests / (p.requests / 24.0) AS peak_to_mean,  -- peak_hour_requests / mean_hour_requests.
    m.peak_minute_requests,                                   -- Requests in the busiest UTC minute.
    m.peak_minute_requests / (p.requests / 1440.0) AS peak_minute_to_mean,  -- peak_minute_requests / (requests / 1440).
    CAST(getvariable('batch_window_start_hour') AS INTEGER) AS batch_window_start_hour,  -- Batch window start used, UTC hour (inclusive).
    CAST(getvariable('batch_window_end_hour') AS INTEGER) AS batch_window_end_hour,  -- Batch window end used, UTC hour (exclusive).
    CAST(p.batch_window_requests AS BIGINT) AS batch_window_requests,  -- Requests starting inside the batch window.
    p.batch_window_requests / p.requests AS batch_window_share  -- batch_window_requests / requests (0-1).
FROM per_day p
JOIN minutes m ON m.day = p.day
ORDER BY p.day;
