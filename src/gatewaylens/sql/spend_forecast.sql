-- spend_forecast
-- Grain: one row per (day, app): the app's spend in the month of `day` up to `day`, and the forecast for the
-- whole month made at the end of `day`. Cost from cost_daily (logged cost, else the catalog estimate).
-- Method (gatewaylens.anomalies): each remaining day of the month from the weekday-aware baseline of
-- log(1 + daily cost) fitted over the 28 days up to `day` (same model as usage_anomalies_daily);
-- forecast = month_to_date + the sum of the daily lognormal means; 95% interval from a lognormal with the
-- remaining total's mean and variance (independent daily noise + fully correlated parameter error). Budgets: GATEWAYLENS_BUDGETS (CSV app,monthly_usd);
-- budget_runout_day = the day month_to_date crossed the budget, else the first future day the expected
-- cumulative spend reaches it, NULL when the month's forecast stays below.
-- Run alone, this SELECT gives the spend so far (forecast columns NULL); the post-processing step forecasts.

WITH c AS (
    SELECT day, app, CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) AS DOUBLE) AS cost_usd  -- exact: rebuilds are bit-identical
    FROM cost_daily
    WHERE day BETWEEN least(date_trunc('month', getvariable('start_day')), getvariable('start_day') - 28) AND getvariable('end_day')
    GROUP BY ALL
), days AS (  -- a generator in the select list: the form Spark also runs (it has no generate_series in FROM)
    SELECT unnest(generate_series(least(date_trunc('month', getvariable('start_day')), getvariable('start_day') - 28),
                                  getvariable('end_day'), INTERVAL 1 DAY)) AS d
), spine AS (
    SELECT CAST(g.d AS DATE) AS day, a.app
    FROM (SELECT DISTINCT app FROM c) a CROSS JOIN days g
), daily AS (
    SELECT s.day, s.app, coalesce(c.cost_usd, 0) AS cost_usd
    FROM spine s LEFT JOIN c USING (day, app)
)
SELECT
    day,                                                                  -- As-of UTC day (partition).
    app,                                                                  -- Calling application (text from the data).
    CAST(date_trunc('month', day) AS DATE) AS month,                      -- First day of the month forecast.
    CAST(day(last_day(day)) AS INTEGER) AS days_in_month,                 -- Days in that month.
    CAST(cost_usd AS DOUBLE) AS day_cost_usd,                             -- Spend on `day`, USD.
    CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) OVER (PARTITION BY app, date_trunc('month', day) ORDER BY day) AS DOUBLE) AS month_to_date_usd,  -- Spend from the 1st to `day`, USD.
    CAST(NULL AS DOUBLE) AS forecast_usd,                                 -- Expected spend of the whole month, USD.
    CAST(NULL AS DOUBLE) AS forecast_low_usd,                             -- 95% interval of the month's spend, lower bound.
    CAST(NULL AS DOUBLE) AS forecast_high_usd,                            -- 95% interval of the month's spend, upper bound.
    CAST(NULL AS DOUBLE) AS budget_usd,                                   -- Monthly budget from GATEWAYLENS_BUDGETS (NULL: none).
    CAST(NULL AS DOUBLE) AS budget_used_share,                            -- month_to_date_usd / budget_usd.
    CAST(NULL AS DATE) AS budget_runout_day                               -- Day the budget runs out (see the header); NULL when it lasts the month.
FROM daily
ORDER BY day, app;
