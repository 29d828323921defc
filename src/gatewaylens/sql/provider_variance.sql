-- provider_variance
-- Grain: one row per (day, model, provider) where day = window_end: the model's behaviour on the
-- provider over the trailing window window_start..window_end (variance_window_days days, default 7,
-- window_end included). Built only for days that have requests; reads the previous
-- variance_window_days - 1 days of requests, writes only the bound days.
--   tool_call_rate = tool_call_requests / successful_requests, Wilson 95% interval [ci_low, ci_high].
--   Reference ("the same model on its other providers") = the model's other providers in the window,
--   minus outlier providers: while the model keeps >= 3 non-excluded providers, the provider whose
--   leave-one-out test is most significant is excluded from every reference if its p-value is below
--   alpha / (providers still in play) and |delta| >= practical_threshold. Without this, one degraded
--   provider drags its peers' reference down and makes healthy peers look anomalous.
--   p_value = two-sided pooled two-proportion z-test (pair vs reference, normal approximation);
--   p_adjusted = Holm step-down over every pair of the same window_end day (per metric);
--   flagged = p_adjusted < alpha AND |rate_delta| >= practical_threshold (statistically AND practically
--   significant). error_* columns: the same procedure for error_rate = error_requests / requests.
-- Statistics columns are filled by gatewaylens.stats.score_provider_variance, the mart's post-processing
-- step (registry), before the rows are written; run alone in the DuckDB CLI they stay NULL / false.
-- Caveats: pairs (and references) with fewer than min_requests requests get no p-value; with only two
-- providers there is no majority, so a real difference flags both; provider choice is assumed
-- independent of the traffic mix (apps, prompts) - check tool_call_rate_daily per app if not.
-- Bind: start_day, end_day, variance_window_days, practical_threshold, alpha, min_requests.

WITH ends AS (
    SELECT DISTINCT day AS window_end
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), days AS (  -- a generator in the select list: the form Spark also runs
    SELECT unnest(generate_series(getvariable('start_day') - (getvariable('variance_window_days') - 1),
                                  getvariable('end_day'), INTERVAL 1 DAY)) AS d
), window_days AS (  -- (window_end, request_day) pairs, so that requests join on an equality (a range
                     -- join on day made Spark pair every request with every window end)
    SELECT e.window_end, CAST(g.d AS DATE) AS request_day
    FROM ends e
    JOIN days g ON CAST(g.d AS DATE) BETWEEN e.window_end - (getvariable('variance_window_days') - 1) AND e.window_end
), src AS (
    SELECT w.window_end AS day, r.day AS request_day, r.* EXCLUDE (day)
    FROM window_days w
    JOIN requests r ON r.day = w.request_day
    WHERE r.day BETWEEN getvariable('start_day') - (getvariable('variance_window_days') - 1) AND getvariable('end_day')
), pair_days AS (  -- days each pair served requests (a count(DISTINCT) beside the percentiles costs Spark a second pass)
    SELECT DISTINCT day AS request_day, model, coalesce(provider, '(unknown)') AS provider
    FROM requests
    WHERE day BETWEEN getvariable('start_day') - (getvariable('variance_window_days') - 1) AND getvariable('end_day')
), n_days AS (
    SELECT w.window_end AS day, p.model, p.provider, count(*) AS n_days
    FROM window_days w
    JOIN pair_days p ON p.request_day = w.request_day
    GROUP BY w.window_end, p.model, p.provider
), agg AS (
    SELECT
        day,
        model,
        coalesce(provider, '(unknown)') AS provider,
        count(*) AS n_requests,
        count(*) FILTER (WHERE status = 'success') AS n_success,
        count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS n_tool,
        count(*) FILTER (WHERE status = 'error') AS n_error,
        quantile_cont(latency_ms, 0.5) FILTER (WHERE status = 'success') AS lat50,
        quantile_cont(latency_ms, 0.95) FILTER (WHERE status = 'success') AS lat95,
        quantile_cont(ttft_ms, 0.5) FILTER (WHERE status = 'success') AS ttft50,
        quantile_cont(output_tokens / (latency_ms / 1000.0), 0.5)
            FILTER (WHERE status = 'success' AND latency_ms > 0 AND output_tokens > 0) AS tps50,
        count(*) FILTER (WHERE finish_reason = 'stop') AS f_stop,
        count(*) FILTER (WHERE finish_reason = 'tool_calls') AS f_tool,
        count(*) FILTER (WHERE finish_reason = 'length') AS f_length,
        count(*) FILTER (WHERE finish_reason = 'content_filter') AS f_filter,
        count(*) FILTER (WHERE finish_reason = 'error') AS f_error,
        count(*) FILTER (WHERE finish_reason = 'other') AS f_other
    FROM src
    GROUP BY ALL
), pairs AS (
    SELECT a.*, d.n_days FROM agg a JOIN n_days d USING (day, model, provider)
)
SELECT
    day,                                                          -- = window_end (partition).
    day - (getvariable('variance_window_days') - 1) AS window_start,  -- First day of the trailing window (included).
    day AS window_end,                                            -- Last day of the trailing window (included).
    CAST(getvariable('variance_window_days') AS INTEGER) AS window_days,  -- variance_window_days used for this row.
    CAST(n_days AS INTEGER) AS days_with_data,                    -- Days of the window in which the pair served requests (< window_days: partial window, less power).
    model,                                                        -- Model slug 'vendor/model'.
    provider,                                                     -- Provider that served the request; '(unknown)' when not logged.
    CAST(count(*) OVER (PARTITION BY day, model) AS INTEGER) AS providers_of_model,  -- Providers that served this model in the period.
    n_requests AS requests,                                       -- Requests, errors included.
    n_success AS successful_requests,                             -- Requests with status = 'success'.
    n_tool AS tool_call_requests,                                 -- Successful requests with finish_reason = 'tool_calls'.
    n_tool / nullif(n_success, 0) AS tool_call_rate,              -- tool_call_requests / successful_requests (0-1).
    gl_wilson_low(n_tool, n_success) AS ci_low,                   -- Wilson 95% lower bound of tool_call_rate (0-1).
    gl_wilson_high(n_tool, n_success) AS ci_high,                 -- Wilson 95% upper bound of tool_call_rate (0-1).
    CAST(NULL AS VARCHAR) AS reference_providers,                 -- Comma-separated providers the pair is compared with (the model's other providers minus outliers).
    CAST(NULL AS BIGINT) AS other_successful_requests,            -- Successful requests of the model on the reference providers.
    CAST(NULL AS BIGINT) AS other_tool_call_requests,             -- Tool-call requests of the model on the reference providers.
    CAST(NULL AS DOUBLE) AS other_tool_call_rate,                 -- Pooled tool-call rate of the model on the reference providers (0-1).
    CAST(NULL AS DOUBLE) AS rate_delta,                           -- tool_call_rate - other_tool_call_rate (absolute, 0-1 scale).
    CAST(NULL AS DOUBLE) AS p_value,                              -- Two-sided pooled two-proportion z-test of tool_call_rate vs other_tool_call_rate.
    CAST(NULL AS DOUBLE) AS p_adjusted,                           -- Holm-adjusted p_value (family: all pairs of the same day).
    false AS flagged,                                             -- p_adjusted < alpha AND |rate_delta| >= practical_threshold.
    n_error AS error_requests,                                    -- Requests with status = 'error'.
    n_error / nullif(n_requests, 0) AS error_rate,                -- error_requests / requests (0-1).
    gl_wilson_low(n_error, n_requests) AS error_ci_low,           -- Wilson 95% lower bound of error_rate.
    gl_wilson_high(n_error, n_requests) AS error_ci_high,         -- Wilson 95% upper bound of error_rate.
    CAST(NULL AS BIGINT) AS other_requests,                       -- Requests of the model on the error-rate reference providers.
    CAST(NULL AS BIGINT) AS other_error_requests,                 -- Error requests of the model on those providers.
    CAST(NULL AS DOUBLE) AS other_error_rate,                     -- Pooled error rate on those providers (0-1).
    CAST(NULL AS DOUBLE) AS error_rate_delta,                     -- error_rate - other_error_rate (absolute).
    CAST(NULL AS DOUBLE) AS error_p_value,                        -- Two-proportion z-test p-value of the error rates.
    CAST(NULL AS DOUBLE) AS error_p_adjusted,                     -- Holm-adjusted error_p_value (family: all pairs of the same day).
    false AS error_flagged,                                       -- error_p_adjusted < alpha AND |error_rate_delta| >= practical_threshold.
    lat50 AS latency_p50_ms,                                      -- Median total latency of successful requests, ms.
    lat95 AS latency_p95_ms,                                      -- 95th percentile total latency of successful requests, ms.
    ttft50 AS ttft_p50_ms,                                        -- Median time to first token of successful requests that report it, ms.
    tps50 AS output_tps_p50,                                      -- Median output_tokens / (latency_ms / 1000) of successful requests, tokens/s (end-to-end).
    f_stop AS finish_stop,                                        -- Requests with finish_reason = 'stop'.
    f_tool AS finish_tool_calls,                                  -- Requests with finish_reason = 'tool_calls'.
    f_length AS finish_length,                                    -- Requests with finish_reason = 'length'.
    f_filter AS finish_content_filter,                            -- Requests with finish_reason = 'content_filter'.
    f_error AS finish_error,                                      -- Requests with finish_reason = 'error'.
    f_other AS finish_other                                       -- Requests with finish_reason = 'other'.
FROM pairs
ORDER BY day, model, provider;
