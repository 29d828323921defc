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
-- Statistics columns are filled by gatewaylens.stats.score_provider_variance right after this file
-- runs (same transaction); run alone in the DuckDB CLI they stay NULL / false.
-- Caveats: pairs (and references) with fewer than min_requests requests get no p-value; with only two
-- providers there is no majority, so a real difference flags both; provider choice is assumed
-- independent of the traffic mix (apps, prompts) - check tool_call_rate_daily per app if not.
-- Bind: start_day, end_day, variance_window_days, practical_threshold, alpha, min_requests.

CREATE TABLE IF NOT EXISTS provider_variance (
    day                       DATE NOT NULL,     -- = window_end (partition).
    window_start              DATE NOT NULL,     -- First day of the trailing window (included).
    window_end                DATE NOT NULL,     -- Last day of the trailing window (included).
    window_days               INTEGER NOT NULL,  -- variance_window_days used for this row.
    days_with_data            INTEGER NOT NULL,  -- Days of the window in which the pair served requests (< window_days: partial window, less power).
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

DELETE FROM provider_variance
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO provider_variance
WITH ends AS (
    SELECT DISTINCT day AS window_end
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), src AS (
    SELECT e.window_end AS day, r.day AS request_day, r.* EXCLUDE (day)
    FROM ends e
    JOIN requests r
      ON r.day BETWEEN e.window_end - (getvariable('variance_window_days') - 1) AND e.window_end
    WHERE r.day BETWEEN getvariable('start_day') - (getvariable('variance_window_days') - 1) AND getvariable('end_day')
), agg AS (
    SELECT
        day,
        model,
        coalesce(provider, '(unknown)') AS provider,
        count(DISTINCT request_day) AS n_days,
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
)
SELECT
    day,
    day - (getvariable('variance_window_days') - 1),
    day,
    CAST(getvariable('variance_window_days') AS INTEGER),
    CAST(n_days AS INTEGER),
    model, provider,
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
