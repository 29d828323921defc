-- latency_daily
-- Grain: one row per (day, model, provider, app), successful requests only. Percentiles are
-- continuous (quantile_cont) over that day's requests; they do not add up: compare days or
-- slices, do not average them (the *_requests columns say how many requests each rests on).
--   tpot_ms    = (latency_ms - ttft_ms) / (output_tokens - 1) when TTFT is reported and
--                output_tokens > 1, else latency_ms / output_tokens: time per output token
--   output_tps = output_tokens / (latency_ms / 1000): end-to-end output tokens per second
--                (as provider_variance's output_tps_p50)
-- Caveat: latency_ms includes failed attempts before a failover (the request's total).

WITH r AS (
    SELECT day, model, coalesce(provider, '(unknown)') AS provider, coalesce(app, '(unknown)') AS app,
           latency_ms, ttft_ms, output_tokens,
           CASE WHEN ttft_ms IS NOT NULL AND output_tokens > 1 AND latency_ms >= ttft_ms
                THEN (latency_ms - ttft_ms) / (output_tokens - 1)
                WHEN output_tokens > 0 THEN latency_ms / output_tokens END AS tpot_ms,
           CASE WHEN latency_ms > 0 AND output_tokens > 0 THEN output_tokens / (latency_ms / 1000.0) END AS tps
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day') AND status = 'success'
)
SELECT
    day,                                                          -- UTC day of the requests (partition).
    model,                                                        -- Model slug 'vendor/model'.
    provider,                                                     -- Provider that served the request; '(unknown)' when not logged.
    app,                                                          -- Calling application; '(unknown)' when not logged.
    count(*) AS requests,                                         -- Successful requests.
    count(latency_ms) AS latency_requests,                        -- Of those, requests reporting latency_ms.
    quantile_cont(latency_ms, 0.5) AS latency_p50_ms,             -- Median latency, ms.
    quantile_cont(latency_ms, 0.9) AS latency_p90_ms,             -- 90th percentile latency, ms.
    quantile_cont(latency_ms, 0.95) AS latency_p95_ms,            -- 95th percentile latency, ms.
    quantile_cont(latency_ms, 0.99) AS latency_p99_ms,            -- 99th percentile latency, ms.
    count(ttft_ms) AS ttft_requests,                              -- Requests reporting time to first token (streamed).
    quantile_cont(ttft_ms, 0.5) AS ttft_p50_ms,                   -- Median time to first token, ms.
    quantile_cont(ttft_ms, 0.9) AS ttft_p90_ms,                   -- 90th percentile TTFT, ms.
    quantile_cont(ttft_ms, 0.95) AS ttft_p95_ms,                  -- 95th percentile TTFT, ms.
    quantile_cont(ttft_ms, 0.99) AS ttft_p99_ms,                  -- 99th percentile TTFT, ms.
    count(tpot_ms) AS tpot_requests,                              -- Requests with a time per output token (output_tokens > 0).
    quantile_cont(tpot_ms, 0.5) AS tpot_p50_ms,                   -- Median time per output token, ms (see the header).
    quantile_cont(tps, 0.5) AS output_tps_p50                     -- Median output tokens per second (end-to-end), tokens/s.
FROM r
GROUP BY ALL
ORDER BY 1, 2, 3, 4;
