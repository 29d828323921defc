-- provider_regressions
-- Grain: one row per (day, model, provider, metric, onset_day): the changes of a model x provider pair
-- against its OWN history known on `day` (the as-of day, the partition): open ones, and those resolved in
-- the 14 days before. Metrics: tool_call_rate, error_rate, p95_latency_ms, median_ttft_ms, reasoning_share,
-- output_tokens_per_request, cost_per_request (daily values from provider_metrics_daily, each weighted by
-- its observations).
-- Method (gatewaylens.changepoints.detect_group; docs/marts.md): one metric of one model across all its
-- providers (latency, TTFT, output tokens, cost on the log scale). Own baseline: for each day a weighted
-- least-squares fit value ~ 1 + trend [+ weekday, kept when a partial F-test finds a weekly pattern] over
-- the 28 days that end 7 days before it; the day's standardised residual (Student t -> normal) is its score.
-- Peer-relative series: the provider's value minus its peers' weighted mean that day (model-wide moves
-- cancel), scored the same way. Two-sided CUSUMs (k = 0.5, scores clipped to +-4: an alarm needs >= 4 days)
-- on (a) each provider's relative scores and (b) the Stouffer combination of the providers' own scores,
-- thresholds calibrated by simulating the detector so that the two scans together give at most
-- regression_false_alarm_rate false alarms per pair-metric-day (default 0.001; half each). (a) is kept
-- when the provider also moved against its own baseline (shift test p < 0.01, |effect| >=
-- regression_min_relative_change of the predicted level and of the baseline mean, on >= 75% of the days)
-- and its own move makes at least half of its gap's move: attribution 'provider' when no other provider
-- moved the same way, else 'unclear'. (b) is kept when >= 2 providers carrying >= half the model's
-- observations moved that way and none the other way: attribution 'model', one row per provider that moved.
-- An alarm against the direction its own baseline window just moved (halves differ, Welch p < 0.01) is
-- dropped as the echo of an earlier step (the tilted trend overshooting). A model with one provider: its
-- own scores, attribution 'unclear'. onset_day = likelihood-ratio step estimate within the alarmed run,
-- detected_day = the alarm. baseline = the 28 days before the onset, current = the 14 days from the onset
-- (up to `day`); 95% intervals (weighted SE, Student t); p_value = Stouffer test of the current days'
-- own scores against the baseline fit. resolved when the trailing 7-day mean crosses back past the
-- midpoint between baseline and the level at detection.
-- Reads regression_history_days before start_day; a change stays listed until its baseline leaves that
-- history (then it is the new normal). Run alone in the DuckDB CLI this SELECT gives the daily series the
-- detector reads (one row per day x pair x metric, value in current_value, observations in
-- current_observations, statistics NULL); the registry's post-processing step replaces them by the changes.

WITH m AS (
    SELECT *
    FROM provider_metrics_daily
    WHERE day BETWEEN getvariable('start_day') - getvariable('regression_history_days') AND getvariable('end_day')
), series AS (
    SELECT day, model, provider, 'tool_call_rate' AS metric, tool_call_rate AS value, successful_requests AS n FROM m
    UNION ALL SELECT day, model, provider, 'error_rate', error_rate, requests FROM m
    UNION ALL SELECT day, model, provider, 'p95_latency_ms', p95_latency_ms, successful_requests FROM m
    UNION ALL SELECT day, model, provider, 'median_ttft_ms', median_ttft_ms, ttft_requests FROM m
    UNION ALL SELECT day, model, provider, 'reasoning_share', reasoning_share, reasoning_requests FROM m
    UNION ALL SELECT day, model, provider, 'output_tokens_per_request', output_tokens_per_request, successful_requests FROM m
    UNION ALL SELECT day, model, provider, 'cost_per_request', cost_per_request, cost_requests FROM m
)
SELECT
    day,                                                    -- As-of day: the changes known at the end of this UTC day (partition).
    model,                                                  -- Model slug 'vendor/model'.
    provider,                                               -- Provider whose own history changed.
    metric,                                                 -- Which behaviour changed (see the header).
    CAST(NULL AS DATE) AS onset_day,                        -- Estimated first day of the change (step estimate within the alarmed CUSUM run).
    CAST(NULL AS DATE) AS detected_day,                     -- Day the CUSUM crossed its threshold.
    CAST(NULL AS DOUBLE) AS baseline_value,                 -- Weighted mean of the 28 days before onset_day.
    CAST(NULL AS DOUBLE) AS baseline_low,                   -- 95% lower bound of baseline_value.
    CAST(NULL AS DOUBLE) AS baseline_high,                  -- 95% upper bound of baseline_value.
    CAST(value AS DOUBLE) AS current_value,                 -- Weighted mean from onset_day over up to 14 days (to `day`).
    CAST(NULL AS DOUBLE) AS current_low,                    -- 95% lower bound of current_value.
    CAST(NULL AS DOUBLE) AS current_high,                   -- 95% upper bound of current_value.
    CAST(n AS BIGINT) AS current_observations,              -- Observations (requests) behind current_value.
    CAST(NULL AS DOUBLE) AS delta,                          -- current_value - baseline_value (metric units).
    CAST(NULL AS DOUBLE) AS relative_delta,                 -- delta / baseline_value.
    CAST(NULL AS DOUBLE) AS p_value,                        -- Two-sided Stouffer test of the current days' own scores against the baseline fit.
    CAST(NULL AS VARCHAR) AS direction,                     -- 'up' | 'down'.
    CAST(NULL AS BOOLEAN) AS worse,                         -- True when the direction is bad for users (errors/latency/cost up, tool calls down); NULL when neutral.
    CAST(NULL AS VARCHAR) AS attribution,                   -- 'provider' | 'model' | 'unclear' (see the header).
    CAST(NULL AS VARCHAR) AS other_providers,               -- JSON: each other provider's own shift test at the onset {provider, z, p_value, relative_effect, moved}.
    CAST(NULL AS VARCHAR) AS status,                        -- 'open' | 'resolved' as of `day`.
    CAST(NULL AS DATE) AS resolved_day,                     -- Day the change was resolved (NULL while open).
    CAST(NULL AS DOUBLE) AS cusum,                          -- CUSUM statistic at detection (daily SD units).
    CAST(NULL AS DOUBLE) AS threshold                       -- Calibrated CUSUM threshold h of the scan that found the change.
FROM series
WHERE value IS NOT NULL AND n > 0
ORDER BY day, model, provider, metric;
