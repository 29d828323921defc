-- session_summary_daily
-- Grain: one row per (day, app) with requests. Sessions come from requests.session_id where the
-- source logs one (OpenTelemetry session.id, LiteLLM/OpenRouter session metadata, canonical
-- session_id); other requests are counted in requests_without_session.
--   a session = the requests of one session_id on one UTC day (a session crossing midnight
--               counts on each of its days)
--   *_p50 / *_p90 = quantiles over that day's sessions of their requests, tokens (input +
--               output), cost (logged, else estimated; USD) and duration (last - first request
--               start, minutes)
-- Caveats: quantiles do not add up across days; session_requests / sessions is the additive mean.

WITH r AS (
    SELECT day, coalesce(app, '(unknown)') AS app, session_id, ts, input_tokens + output_tokens AS tokens,
           CAST(coalesce(cost_usd, cost_estimated_usd) AS DECIMAL(38, 12)) AS cost  -- exact sums: rebuilds are bit-identical
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), s AS (
    SELECT day, app, session_id, count(*) AS requests, sum(tokens) AS tokens, sum(cost) AS cost,
           date_diff('millisecond', min(ts), max(ts)) / 60000.0 AS minutes
    FROM r WHERE session_id IS NOT NULL
    GROUP BY day, app, session_id
), agg AS (
    SELECT day, app, count(*) AS sessions, sum(requests) AS session_requests,
           quantile_cont(requests, 0.5) AS req50, quantile_cont(requests, 0.9) AS req90,
           quantile_cont(tokens, 0.5) AS tok50, quantile_cont(tokens, 0.9) AS tok90,
           quantile_cont(cost, 0.5) AS cost50, quantile_cont(cost, 0.9) AS cost90,
           quantile_cont(minutes, 0.5) AS min50, quantile_cont(minutes, 0.9) AS min90
    FROM s GROUP BY day, app
), a AS (
    SELECT day, app, count(*) AS requests, count(*) FILTER (WHERE session_id IS NULL) AS requests_without_session
    FROM r GROUP BY day, app
)
SELECT
    a.day,                                                        -- UTC day (partition).
    a.app,                                                        -- Calling application; '(unknown)' when not logged.
    a.requests,                                                   -- All requests of the app that day.
    a.requests_without_session,                                   -- Requests without a session_id (source does not log sessions).
    coalesce(g.sessions, 0) AS sessions,                          -- Distinct session_id that day.
    CAST(coalesce(g.session_requests, 0) AS BIGINT) AS session_requests,          -- Requests that carry a session_id.
    g.req50 AS requests_per_session_p50,                          -- Median requests per session.
    g.req90 AS requests_per_session_p90,                          -- 90th percentile requests per session.
    g.tok50 AS tokens_per_session_p50,                            -- Median input + output tokens per session.
    g.tok90 AS tokens_per_session_p90,                            -- 90th percentile tokens per session.
    CAST(g.cost50 AS DOUBLE) AS cost_per_session_p50,             -- Median cost per session, USD.
    CAST(g.cost90 AS DOUBLE) AS cost_per_session_p90,             -- 90th percentile cost per session, USD.
    g.min50 AS session_minutes_p50,                               -- Median session duration (first to last request start), minutes.
    g.min90 AS session_minutes_p90                                -- 90th percentile session duration, minutes.
FROM a
LEFT JOIN agg g USING (day, app)
ORDER BY a.day, a.app;
