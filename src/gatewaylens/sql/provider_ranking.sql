-- provider_ranking
-- Grain: one row per (day, model, provider), day = window_end of provider_variance (read from it,
-- so build provider_variance first). What a router would use: per model, providers ordered by
-- tool-call reliability - Wilson lower bound of tool_call_rate (higher first), then error_rate
-- (lower first), then latency_p50_ms (lower first), then provider name.
--   recommended = not flagged (tool-call rate) AND not error_flagged AND successful_requests >=
--   min_requests AND its ci_high reaches the best eligible provider's ci_low (statistically not
--   worse than the best). The pool can be empty (no eligible provider): fall back to rank 1.
-- Caveat: a higher tool-call rate is read as "more reliable" because the same model on the same
-- traffic should call tools equally often everywhere; a provider calling tools less is usually a
-- degraded (e.g. quantized) deployment.
-- Bind: start_day, end_day, min_requests.

WITH v AS (
    SELECT *,
           NOT flagged AND NOT error_flagged AND successful_requests >= getvariable('min_requests') AS eligible
    FROM provider_variance
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
), best AS (
    SELECT day, model, max(ci_low) AS best_ci_low
    FROM v WHERE eligible
    GROUP BY day, model
)
SELECT
    v.day,                                                    -- = provider_variance.window_end (partition).
    v.window_start,                                           -- First day of the trailing window.
    v.model,                                                  -- Model slug 'vendor/model'.
    v.provider,                                               -- Provider.
    CAST(row_number() OVER (PARTITION BY v.day, v.model
                            ORDER BY v.ci_low DESC NULLS LAST, v.error_rate ASC NULLS LAST,
                                     v.latency_p50_ms ASC NULLS LAST, v.provider) AS INTEGER) AS rank,  -- 1 = most reliable provider for the model.
    CAST(count(*) OVER (PARTITION BY v.day, v.model) AS INTEGER) AS providers_of_model,  -- Providers ranked for the model.
    v.requests,                                               -- Requests in the window.
    v.successful_requests,                                    -- Successful requests in the window.
    v.tool_call_rate,                                         -- Tool-call rate in the window (0-1).
    v.ci_low,                                                 -- Wilson 95% lower bound of tool_call_rate.
    v.ci_high,                                                -- Wilson 95% upper bound of tool_call_rate.
    v.error_rate,                                             -- error_requests / requests in the window (0-1).
    v.latency_p50_ms,                                         -- Median latency of successful requests, ms.
    v.flagged,                                                -- provider_variance.flagged (tool-call rate differs).
    v.error_flagged,                                          -- provider_variance.error_flagged (error rate differs).
    coalesce(v.eligible AND v.ci_high >= b.best_ci_low, false) AS recommended  -- In the router's pool (see the header).
FROM v
LEFT JOIN best b ON b.day = v.day AND b.model = v.model
ORDER BY v.day, v.model, rank;
