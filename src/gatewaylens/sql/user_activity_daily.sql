-- user_activity_daily
-- Grain: one row per (day, app) with requests that day or identified users active in the app in
-- the 28 days ending that day. Users are user_hash only (the salted hash; raw ids are never stored);
-- requests without a user_hash are counted in anonymous_requests and nowhere else.
--   active_users = distinct users with a request that day
--   new_users    = active users with no request in the app in the previous 90 days (new, or back
--                  after three months: the mart reads a 90-day lookback, never all history)
--   wau / mau    = distinct users active in the 7 / 28 days ending that day (rolling)
--   cost_per_user_p50/p90/p99 = quantiles over that day's active users of their cost (logged
--                  cost, else the estimate), USD — heavy tails show up in p99
-- Caveats: distinct counts do not add up across days or apps (use wau/mau, not sums); a user of
-- two apps is counted in each.

WITH base AS (
    SELECT day, coalesce(app, '(unknown)') AS app, user_hash, input_tokens + output_tokens AS tokens,
           CAST(coalesce(cost_usd, cost_estimated_usd) AS DECIMAL(38, 12)) AS cost  -- exact sums: rebuilds are bit-identical
    FROM requests
    WHERE day BETWEEN CAST(getvariable('start_day') - INTERVAL 90 DAY AS DATE) AND getvariable('end_day')
), act AS (  -- one row per (app, user, day) with activity, the lookback included
    SELECT app, user_hash, day, count(*) AS requests, sum(tokens) AS tokens, sum(cost) AS cost,
           lag(day) OVER (PARTITION BY app, user_hash ORDER BY day) AS previous_day,
           lead(day) OVER (PARTITION BY app, user_hash ORDER BY day) AS next_day
    FROM base WHERE user_hash IS NOT NULL
    GROUP BY app, user_hash, day
), events AS (
    -- an active day covers the next 28 (7) days of MAU (WAU) up to the user's next active day:
    -- disjoint intervals per user, so a running sum of +1/-1 counts distinct users (O(activity))
    SELECT app, day AS d, 1 AS dm, 1 AS dw FROM act
    UNION ALL SELECT app, CAST(least(day + 28, coalesce(next_day, day + 28)) AS DATE), -1, 0 FROM act
    UNION ALL SELECT app, CAST(least(day + 7, coalesce(next_day, day + 7)) AS DATE), 0, -1 FROM act
), deltas AS (
    SELECT app, d, sum(dm) AS dm, sum(dw) AS dw FROM events GROUP BY app, d
), days AS (
    SELECT DISTINCT day FROM base WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), grid AS (
    SELECT app, d FROM deltas
    UNION SELECT a.app, days.day FROM days CROSS JOIN (SELECT DISTINCT app FROM act) a
), running AS (
    SELECT g.app, g.d AS day,
           sum(coalesce(x.dm, 0)) OVER (PARTITION BY g.app ORDER BY g.d) AS mau,
           sum(coalesce(x.dw, 0)) OVER (PARTITION BY g.app ORDER BY g.d) AS wau
    FROM grid g LEFT JOIN deltas x ON x.app = g.app AND x.d = g.d
), rolling AS (  -- days with users active in the 28 days, or with (possibly anonymous) requests
    SELECT coalesce(r.day, q.day) AS day, coalesce(r.app, q.app) AS app,
           CAST(coalesce(r.wau, 0) AS BIGINT) AS wau, CAST(coalesce(r.mau, 0) AS BIGINT) AS mau
    FROM (SELECT day, app, wau, mau FROM running JOIN days USING (day) WHERE mau > 0) r
    FULL OUTER JOIN (SELECT DISTINCT day, app FROM base
                     WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')) q
        ON q.day = r.day AND q.app = r.app
), today AS (
    SELECT day, app,
           count(*) AS active_users,
           count(*) FILTER (WHERE previous_day IS NULL OR date_diff('day', previous_day, day) > 90) AS new_users,
           sum(requests) AS requests, sum(tokens) AS tokens, sum(cost) AS cost_usd,
           quantile_cont(cost, 0.5) AS p50, quantile_cont(cost, 0.9) AS p90, quantile_cont(cost, 0.99) AS p99
    FROM act WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day, app
), anon AS (
    SELECT day, app, count(*) AS anonymous_requests FROM base
    WHERE user_hash IS NULL AND day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day, app
)
SELECT
    r.day,                                                        -- UTC day (partition).
    r.app,                                                        -- Calling application; '(unknown)' when not logged.
    coalesce(t.active_users, 0) AS active_users,                  -- Distinct users (user_hash) with a request that day.
    coalesce(t.new_users, 0) AS new_users,                        -- Active users without a request in the app in the previous 90 days.
    r.wau,                                                        -- Distinct users active in the 7 days ending that day.
    r.mau,                                                        -- Distinct users active in the 28 days ending that day.
    CAST(coalesce(t.requests, 0) AS BIGINT) AS requests,                          -- Requests of identified users that day.
    CAST(coalesce(t.tokens, 0) AS BIGINT) AS tokens,                              -- Input + output tokens of those requests.
    CAST(t.cost_usd AS DOUBLE) AS cost_usd,                       -- Cost of those requests (logged, else estimated), USD; NULL when unknown.
    CAST(t.p50 AS DOUBLE) AS cost_per_user_p50,                   -- Median cost per active user that day, USD.
    CAST(t.p90 AS DOUBLE) AS cost_per_user_p90,                   -- 90th percentile cost per active user, USD.
    CAST(t.p99 AS DOUBLE) AS cost_per_user_p99,                   -- 99th percentile cost per active user, USD.
    coalesce(n.anonymous_requests, 0) AS anonymous_requests       -- Requests without a user_hash that day (not in any user count).
FROM rolling r
LEFT JOIN today t USING (day, app)
LEFT JOIN anon n USING (day, app)
ORDER BY r.day, r.app;
