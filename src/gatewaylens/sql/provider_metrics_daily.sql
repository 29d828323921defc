-- provider_metrics_daily
-- Grain: one row per (day, model, provider): the seven behaviours provider_regressions watches, each with
-- the number of observations it rests on (the detector weighs a day by it).
--   tool_call_rate            = tool_call_requests / successful_requests
--   error_rate                = error_requests / requests
--   p95_latency_ms            = 95th percentile (continuous) of latency_ms over successful requests
--   median_ttft_ms            = median ttft_ms over successful requests that report it (streamed)
--   reasoning_share           = sum(reasoning_tokens) / sum(output_tokens) over successful requests reporting reasoning
--   output_tokens_per_request = mean output_tokens over successful requests
--   cost_per_request          = mean cost_usd over successful requests that logged it
-- NULL provider becomes '(unknown)'. Caveat: latency includes a failed first attempt when the request
-- failed over (the attempt is the provider's problem, not the final provider's): see provider_uptime_daily.

SELECT
    day,                                                        -- UTC day of the requests (partition).
    model,                                                      -- Model slug 'vendor/model'.
    coalesce(provider, '(unknown)') AS provider,                -- Provider that served the request; '(unknown)' when not logged.
    count(*) AS requests,                                       -- Requests, errors included (weight of error_rate).
    count(*) FILTER (WHERE status = 'success') AS successful_requests,  -- Successful requests (weight of tool_call_rate, p95_latency_ms, output_tokens_per_request).
    count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') / nullif(successful_requests, 0) AS tool_call_rate,  -- Share of successful requests ending in a tool call (0-1).
    count(*) FILTER (WHERE status = 'error') / count(*) AS error_rate,  -- Share of requests that failed (0-1).
    quantile_cont(latency_ms, 0.95) FILTER (WHERE status = 'success') AS p95_latency_ms,  -- 95th percentile latency of successful requests, ms.
    count(ttft_ms) FILTER (WHERE status = 'success') AS ttft_requests,  -- Successful requests reporting ttft_ms (weight of median_ttft_ms).
    quantile_cont(ttft_ms, 0.5) FILTER (WHERE status = 'success') AS median_ttft_ms,  -- Median time to first token, ms.
    count(reasoning_tokens) FILTER (WHERE status = 'success') AS reasoning_requests,  -- Successful requests reporting reasoning_tokens (weight of reasoning_share).
    sum(reasoning_tokens) FILTER (WHERE status = 'success' AND reasoning_tokens IS NOT NULL)
        / nullif(sum(output_tokens) FILTER (WHERE status = 'success' AND reasoning_tokens IS NOT NULL), 0) AS reasoning_share,  -- Reasoning tokens / output tokens where reported (0-1).
    avg(output_tokens) FILTER (WHERE status = 'success') AS output_tokens_per_request,  -- Mean output tokens (reasoning included) per successful request.
    count(cost_usd) FILTER (WHERE status = 'success') AS cost_requests,  -- Successful requests with a logged cost (weight of cost_per_request).
    CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) FILTER (WHERE status = 'success') AS DOUBLE) / nullif(cost_requests, 0) AS cost_per_request  -- Mean logged cost per successful request, USD (summed exactly).
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider;
