-- model_switches
-- Grain: one row per (month, app) with traffic; day = the first day of the month (the partition).
-- switched = the app's top model changed from the previous month: filter on it for the switches.
-- Top model = the model with the most tokens (input + output) of the app in the month (ties:
-- alphabetical). Monthly grain: a build of any day rebinds its whole month and reads that month
-- plus the previous one (lookback), O(month).
--   share_before = from_model's share of the app's tokens in the previous month
--   share_after  = to_model's share in the month
--   from_model_share_after / to_model_share_before: how far the move went (0 = fully switched /
--                  not used before)
-- from_model is NULL (and switched false) when the app had no traffic the month before: a switch
-- is only recorded between consecutive months.

WITH r AS (
    SELECT CAST(date_trunc('month', day) AS DATE) AS month, coalesce(app, '(unknown)') AS app, model,
           input_tokens + output_tokens AS tokens
    FROM requests
    WHERE day BETWEEN CAST(date_trunc('month', getvariable('start_day') - INTERVAL 1 MONTH) AS DATE)
                  AND getvariable('end_day')
), m AS (
    SELECT month, app, model, sum(tokens) AS t FROM r GROUP BY month, app, model
), s AS (
    SELECT month, app, model, t / nullif(sum(t) OVER (PARTITION BY month, app), 0) AS share,
           row_number() OVER (PARTITION BY month, app ORDER BY t DESC, model) AS rn
    FROM m
), top AS (
    SELECT month, app, model, share FROM s WHERE rn = 1
)
SELECT
    cur.month AS day,                                             -- First day of the month, UTC (partition).
    cur.app,                                                      -- Calling application; '(unknown)' when not logged.
    prev.model AS from_model,                                     -- Top model of the previous month; NULL without traffic then.
    cur.model AS to_model,                                        -- Top model of this month.
    coalesce(prev.model <> cur.model, false) AS switched,         -- The top model changed since the previous month.
    prev.share AS share_before,                                   -- from_model's share of the app's tokens last month (0-1).
    cur.share AS share_after,                                     -- to_model's share of the app's tokens this month (0-1).
    CASE WHEN prev.model IS NOT NULL THEN coalesce(fa.share, 0) END AS from_model_share_after,  -- from_model's share this month (0-1).
    CASE WHEN prev.model IS NOT NULL THEN coalesce(tb.share, 0) END AS to_model_share_before    -- to_model's share last month (0-1).
FROM top cur
LEFT JOIN top prev ON prev.app = cur.app AND prev.month = CAST(cur.month - INTERVAL 1 MONTH AS DATE)
LEFT JOIN s fa ON fa.app = cur.app AND fa.month = cur.month AND fa.model = prev.model
LEFT JOIN s tb ON tb.app = cur.app AND tb.month = prev.month AND tb.model = cur.model
WHERE cur.month >= getvariable('start_day')
ORDER BY cur.month, cur.app;
