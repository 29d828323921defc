-- reasoning_share_daily
-- Grain: one row per (day, model, provider). Counts are additive: any rollup is
-- sum(reasoning_tokens) / sum(output_tokens_reporting).
--   reasoning_share   = reasoning_tokens / output_tokens_reporting
--   reporting_coverage = reporting_requests / requests
-- Only requests that REPORT reasoning (reasoning_tokens NOT NULL, reported zeros included) enter
-- the share: a request that does not report reasoning never counts as zero reasoning.
-- Caveat: models reporting a constant 0 ('zero' in model_catalog) do lower the share, by design
-- (they did no reasoning); filter on the catalog to exclude them.

SELECT
    day,                                                      -- UTC day of the requests (partition).
    model,                                                    -- Model slug 'vendor/model'.
    coalesce(provider, '(unknown)') AS provider,              -- Provider that served the request; '(unknown)' when not logged.
    count(*) AS requests,                                     -- All requests, errors included.
    count(reasoning_tokens) AS reporting_requests,            -- Requests with reasoning_tokens NOT NULL.
    count(*) FILTER (WHERE reasoning_tokens = 0) AS zero_reasoning_requests,  -- Reporting requests whose reasoning_tokens = 0 (reported zero, not unknown).
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens,        -- Completion tokens of all requests (reasoning included), tokens.
    CAST(coalesce(sum(output_tokens) FILTER (WHERE reasoning_tokens IS NOT NULL), 0) AS BIGINT) AS output_tokens_reporting,  -- Completion tokens of the reporting requests, tokens.
    CAST(coalesce(sum(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens,  -- Reasoning tokens of the reporting requests, tokens.
    coalesce(sum(reasoning_tokens), 0)
        / nullif(coalesce(sum(output_tokens) FILTER (WHERE reasoning_tokens IS NOT NULL), 0), 0) AS reasoning_share,  -- reasoning_tokens / output_tokens_reporting (0-1); NULL when nothing reported.
    count(reasoning_tokens) / count(*) AS reporting_coverage  -- reporting_requests / requests (0-1): how much of the traffic the share covers.
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider;
