-- usage_anomalies_daily
-- Grain: one row per (day, dimension, subject, metric): dimension 'app' or 'model', metric 'requests',
-- 'tokens' (input + output) or 'cost_usd' (cost_daily: logged or catalog estimate), compared with a
-- weekday-aware baseline. A subject gets a row on every day it was active in the trailing
-- anomaly_baseline_days (0 when silent that day); its baseline starts at its first active day in the
-- window, so a one-day nightly build and a backfill give the same rows and numbers.
-- Method (gatewaylens.anomalies): log(1 + value) ~ 1 + trend [+ weekday, kept when a partial F-test finds
-- a weekly pattern] fitted over the 28 days before `day` (ordinary least squares); expected =
-- exp(prediction) - 1 with a 95% prediction interval (Student t); score = the day's standardised
-- residual on the normal scale; anomaly = |score| above the two-sided normal quantile of
-- anomaly_false_alarm_rate (default 0.001 per subject-metric-day: |score| > 3.29).
-- Caveat: a subject needs 14 days of history before it is scored (expected NULL until then).
-- Run alone, this SELECT gives the daily values (statistics NULL); the post-processing step scores them.

WITH c AS (
    SELECT *
    FROM cost_daily
    WHERE day BETWEEN getvariable('start_day') - getvariable('anomaly_baseline_days') AND getvariable('end_day')
), totals AS (
    SELECT day, 'app' AS dimension, app AS subject, sum(requests) AS requests,
           sum(input_tokens + output_tokens) AS tokens,
           CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) AS DOUBLE) AS cost_usd  -- exact: rebuilds are bit-identical
    FROM c GROUP BY ALL
    UNION ALL
    SELECT day, 'model', model, sum(requests), sum(input_tokens + output_tokens),
           CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) AS DOUBLE)
    FROM c GROUP BY ALL
), days AS (  -- a generator in the select list: the form Spark also runs (it has no generate_series in FROM)
    SELECT unnest(generate_series(getvariable('start_day') - getvariable('anomaly_baseline_days'), getvariable('end_day'),
                                  INTERVAL 1 DAY)) AS d
), spine AS (  -- each subject on each day it was active within the trailing baseline window
    SELECT DISTINCT CAST(g.d AS DATE) AS day, t.dimension, t.subject
    FROM days g
    JOIN totals t
      ON t.day BETWEEN CAST(g.d AS DATE) - getvariable('anomaly_baseline_days') AND CAST(g.d AS DATE)
), series AS (
    SELECT sp.day, sp.dimension, sp.subject, m.metric,
           coalesce(CASE m.metric WHEN 'requests' THEN t.requests WHEN 'tokens' THEN t.tokens ELSE t.cost_usd END, 0) AS value
    FROM spine sp
    CROSS JOIN (VALUES ('requests'), ('tokens'), ('cost_usd')) m(metric)
    LEFT JOIN totals t USING (day, dimension, subject)
)
SELECT
    day,                                              -- UTC day (partition).
    dimension,                                        -- 'app' | 'model'.
    subject,                                          -- The app or model (text from the data).
    metric,                                           -- 'requests' | 'tokens' | 'cost_usd'.
    CAST(value AS DOUBLE) AS value,                   -- The day's total (requests, tokens or USD).
    CAST(NULL AS DOUBLE) AS expected,                 -- Baseline expectation for the day (same units).
    CAST(NULL AS DOUBLE) AS expected_low,             -- 95% prediction interval, lower bound.
    CAST(NULL AS DOUBLE) AS expected_high,            -- 95% prediction interval, upper bound.
    CAST(NULL AS DOUBLE) AS score,                    -- Standardised residual (normal scale; + = above expected).
    CAST(NULL AS BOOLEAN) AS anomaly                  -- |score| > the anomaly_false_alarm_rate quantile; NULL while unscored.
FROM series
ORDER BY day, dimension, subject, metric;
