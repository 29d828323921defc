-- model_adoption_lag
-- Grain: one row per (app, model), written on the day the app first used the model (day =
-- first_used_by_app, the partition). How fast each app tries a model once it appears in the
-- gateway: lag_days = first_used_by_app - first_seen_in_gateway.
--   first_seen_in_gateway = the first day any app used the model
--   adoption_rank         = 1 for the first app to use the model, 2 for the next, ... (ties share a rank)
--   present_at_start      = the model was already used on the first day of data: its first
--                           appearance (and so the lag) is not observed — exclude from lag averages
-- Reads cost_daily's history up to end_day (one row per day x app x model x provider x
-- cost_source: small, never the requests) and writes only the pairs first used on the bound days.
-- Caveat: rebuilding an early day can move a pair's first use: rebuild from that day on.

WITH u AS (
    SELECT app, model, min(day) AS first_used FROM cost_daily
    WHERE day <= getvariable('end_day') GROUP BY app, model
), g AS (
    SELECT model, min(first_used) AS first_seen FROM u GROUP BY model
), ranked AS (
    SELECT u.*, rank() OVER (PARTITION BY model ORDER BY first_used) AS adoption_rank FROM u
)
SELECT
    r.first_used AS day,                                          -- First day the app used the model, UTC (partition).
    r.app,                                                        -- Calling application; '(unknown)' when not logged.
    r.model,                                                      -- Model slug 'vendor/model'.
    g.first_seen AS first_seen_in_gateway,                        -- First day any app used the model.
    r.first_used AS first_used_by_app,                            -- First day this app used it (= day).
    date_diff('day', g.first_seen, r.first_used) AS lag_days,     -- Days from the model's first appearance to this app's first use.
    r.adoption_rank,                                              -- Order in which apps adopted the model (1 = first).
    g.first_seen = (SELECT min(day) FROM cost_daily) AS present_at_start  -- Model used on the first day of data: lag not observed.
FROM ranked r
JOIN g USING (model)
WHERE r.first_used BETWEEN getvariable('start_day') AND getvariable('end_day')
ORDER BY r.first_used, r.app, r.model;
