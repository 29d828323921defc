-- provider_variance_daily
-- Grain: one row per (day, model, provider): how a model behaves on each provider that served it
-- that day. Same columns and definitions as provider_variance, over a single day instead of a
-- trailing window: use it for trend charts; decide on provider_variance (more data per test).
--   tool_call_rate = tool_call_requests / successful_requests, with a Wilson 95% interval;
--   error_rate     = error_requests / requests, with a Wilson 95% interval;
--   latency/TTFT/throughput percentiles are over successful requests.
-- The comparison columns (reference_providers, other_*, *_delta, p_value, p_adjusted, flagged,
-- error_*) are computed by gatewaylens.stats.score_provider_variance right after this file runs
-- (same transaction); run alone in the DuckDB CLI they stay NULL / false. See provider_variance.
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS provider_variance_daily (
    day                       DATE NOT NULL,     -- UTC day of the requests (partition).
    model                     VARCHAR NOT NULL,  -- Model slug 'vendor/model'.
    provider                  VARCHAR NOT NULL,  -- Provider that served the request; '(unknown)' when not logged.
    providers_of_model        INTEGER NOT NULL,  -- Providers that served this model in the period.
    requests                  BIGINT NOT NULL,   -- Requests, errors included.
    successful_requests       BIGINT NOT NULL,   -- Requests with status = 'success'.
    tool_call_requests        BIGINT NOT NULL,   -- Successful requests with finish_reason = 'tool_calls'.
    tool_call_rate            DOUBLE,            -- tool_call_requests / successful_requests (0-1).
    ci_low                    DOUBLE,            -- Wilson 95% lower bound of tool_call_rate (0-1).
    ci_high                   DOUBLE,            -- Wilson 95% upper bound of tool_call_rate (0-1).
    reference_providers       VARCHAR,           -- Comma-separated providers the pair is compared with (the model's other providers minus outliers).
    other_successful_requests BIGINT,            -- Successful requests of the model on the reference providers.
    other_tool_call_requests  BIGINT,            -- Tool-call requests of the model on the reference providers.
    other_tool_call_rate      DOUBLE,            -- Pooled tool-call rate of the model on the reference providers (0-1).
    rate_delta                DOUBLE,            -- tool_call_rate - other_tool_call_rate (absolute, 0-1 scale).
    p_value                   DOUBLE,            -- Two-sided pooled two-proportion z-test of tool_call_rate vs other_tool_call_rate.
    p_adjusted                DOUBLE,            -- Holm-adjusted p_value (family: all pairs of the same day).
    flagged                   BOOLEAN NOT NULL,  -- p_adjusted < alpha AND |rate_delta| >= practical_threshold.
    error_requests            BIGINT NOT NULL,   -- Requests with status = 'error'.
    error_rate                DOUBLE,            -- error_requests / requests (0-1).
    error_ci_low              DOUBLE,            -- Wilson 95% lower bound of error_rate.
    error_ci_high             DOUBLE,            -- Wilson 95% upper bound of error_rate.
    other_requests            BIGINT,            -- Requests of the model on the error-rate reference providers.
    other_error_requests      BIGINT,            -- Error requests of the model on those providers.
    other_error_rate          DOUBLE,            -- Pooled error rate on those providers (0-1).
    error_rate_delta          DOUBLE,            -- error_rate - other_error_rate (absolute).
    error_p_value             DOUBLE,            -- Two-proportion z-test p-value of the error rates.
    error_p_adjusted          DOUBLE,            -- Holm-adjusted error_p_value (family: all pairs of the same day).
    error_flagged             BOOLEAN NOT NULL,  -- error_p_adjusted < alpha AND |error_rate_delta| >= practical_threshold.
    latency_p50_ms            DOUBLE,            -- Median total latency of successful requests, ms.
    latency_p95_ms            DOUBLE,            -- 95th percentile total latency of successful requests, ms.
    ttft_p50_ms               DOUBLE,            -- Median time to first token of successful requests that report it, ms.
    output_tps_p50            DOUBLE,            -- Median output_tokens / (latency_ms / 1000) of successful requests, tokens/s (end-to-end).
    finish_stop               BIGINT NOT NULL,   -- Requests with finish_reason = 'stop'.
    finish_tool_calls         BIGINT NOT NULL,   -- Requests with finish_reason = 'tool_calls'.
    finish_length             BIGINT NOT NULL,   -- Requests with finish_reason = 'length'.
    finish_content_filter     BIGINT NOT NULL,   -- Requests with finish_reason = 'content_filter'.
    finish_error              BIGINT NOT NULL,   -- Requests with finish_reason = 'error'.
    finish_other              BIGINT NOT NULL    -- Requests with finish_reason = 'other'.
);

CREATE OR REPLACE TEMP MACRO gl_wilson_low(x, n) AS
    CASE WHEN n > 0 THEN greatest(0.0,
        (x / n + 1.959963984540054 ^ 2 / (2 * n)
         - 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;

CREATE OR REPLACE TEMP MACRO gl_wilson_high(x, n) AS
    CASE WHEN n > 0 THEN least(1.0,
        (x / n + 1.959963984540054 ^ 2 / (2 * n)
         + 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;

DELETE FROM provider_variance_daily
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO provider_variance_daily
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
    day, model, provider,
    CAST(count(*) OVER (PARTITION BY day, model) AS INTEGER),
    n_requests, n_success, n_tool,
    n_tool / nullif(n_success, 0),
    gl_wilson_low(n_tool, n_success), gl_wilson_high(n_tool, n_success),
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, false,
    n_error,
    n_error / nullif(n_requests, 0),
    gl_wilson_low(n_error, n_requests), gl_wilson_high(n_error, n_requests),
    NULL, NULL, NULL, NULL, NULL, NULL, false,
    lat50, lat95, ttft50, tps50,
    f_stop, f_tool, f_length, f_filter, f_error, f_other
FROM agg
ORDER BY day, model, provider;
