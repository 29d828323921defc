-- load_profile_daily
-- Grain: one row per day (read from load_hourly and load_minutely: build them first).
--   mean_hour_requests = requests / 24 (every hour of the UTC day counts, idle hours included);
--   peak_to_mean       = peak_hour_requests / mean_hour_requests (1 = flat, 24 = all in one hour);
--   batch_window_share = requests starting in [batch_window_start_hour, batch_window_end_hour) UTC / requests.
-- Caveat: a partial day (e.g. the first day of a trace) has a low mean and so a high peak_to_mean.
-- Bind: start_day, end_day, batch_window_start_hour, batch_window_end_hour.

CREATE TABLE IF NOT EXISTS load_profile_daily (
    day                     DATE NOT NULL,         -- UTC day (partition).
    requests                BIGINT NOT NULL,       -- Requests of the day.
    active_hours            INTEGER NOT NULL,      -- Hours with at least one request.
    peak_hour               TIMESTAMPTZ NOT NULL,  -- Busiest UTC hour (earliest on ties).
    peak_hour_requests      BIGINT NOT NULL,       -- Requests in the busiest hour.
    mean_hour_requests      DOUBLE NOT NULL,       -- requests / 24.
    peak_to_mean            DOUBLE NOT NULL,       -- peak_hour_requests / mean_hour_requests.
    peak_minute_requests    BIGINT NOT NULL,       -- Requests in the busiest UTC minute.
    peak_minute_to_mean     DOUBLE NOT NULL,       -- peak_minute_requests / (requests / 1440).
    batch_window_start_hour INTEGER NOT NULL,      -- Batch window start used, UTC hour (inclusive).
    batch_window_end_hour   INTEGER NOT NULL,      -- Batch window end used, UTC hour (exclusive).
    batch_window_requests   BIGINT NOT NULL,       -- Requests starting inside the batch window.
    batch_window_share      DOUBLE NOT NULL        -- batch_window_requests / requests (0-1).
);

DELETE FROM load_profile_daily
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO load_profile_daily
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
    p.day,
    p.requests,
    CAST(p.active_hours AS INTEGER),
    p.peak_hour,
    p.peak_hour_requests,
    p.requests / 24.0 AS mean_hour_requests,
    p.peak_hour_requests / (p.requests / 24.0) AS peak_to_mean,
    m.peak_minute_requests,
    m.peak_minute_requests / (p.requests / 1440.0) AS peak_minute_to_mean,
    CAST(getvariable('batch_window_start_hour') AS INTEGER),
    CAST(getvariable('batch_window_end_hour') AS INTEGER),
    p.batch_window_requests,
    p.batch_window_requests / p.requests AS batch_window_share
FROM per_day p
JOIN minutes m ON m.day = p.day
ORDER BY p.day;
