-- provider_variance_daily
-- Grain: one row per (day, model, provider): how a model behaves on each provider that served it
-- that day. Same columns and definitions as provider_variance, over a single day instead of a
-- trailing window: use it for trend charts; decide on provider_variance (more data per test).
--   tool_call_rate = tool_call_requests / successful_requests, with a Wilson 95% interval;
--   error_rate     = error_requests / requests, with a Wilson 95% interval;
--   latency/TTFT/throughput percentiles are over successful requests.
-- The comparison columns (reference_providers, other_*, *_delta, p_value, p_adjusted, flagged,
-- error_*) are computed by gatewaylens.stats.score_provider_variance, the mart's post-processing step
-- (registry), on this SELECT's rows before they are written; run alone in the DuckDB CLI they stay NULL / false. See provider_variance.

WITH agg AS (
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
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY ALL
)
SELECT
    day,                                                          -- UTC day of the requests (partition).
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
FROM agg
ORDER BY day, model, provider;
