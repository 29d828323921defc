-- cache_daily
-- Grain: one row per (day, model, provider, app). Additive.
--   cache_hit_rate = cached_tokens / input_tokens_reporting (prompt tokens of requests whose
--                    provider reports cached_tokens; a NULL cached_tokens is "not reported", not 0)
--   savings_usd    = cached_tokens * (input_usd_per_mtok - cached_input_usd_per_mtok) / 1e6:
--                    what the cached reads would have cost more at the model's list price
--                    (model_catalog); NULL when the model is not catalogued.
--   cache_write_tokens: prompt tokens written to the provider's cache (Anthropic-style explicit
--                    caching; NULL not reported counts as 0, cache_write_requests counts writers).
-- Caveats: list prices (no discounts); cache writes are usually billed above the input price and
-- that premium is not subtracted from savings_usd (the catalogue has no cache-write price).

SELECT
    r.day,                                                        -- UTC day of the requests (partition).
    r.model,                                                      -- Model slug 'vendor/model'.
    coalesce(r.provider, '(unknown)') AS provider,                -- Provider that served the request; '(unknown)' when not logged.
    coalesce(r.app, '(unknown)') AS app,                          -- Calling application; '(unknown)' when not logged.
    count(*) AS requests,                                         -- Requests, errors included.
    CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens,                          -- Prompt tokens of all requests (cached included), tokens.
    CAST(coalesce(sum(r.input_tokens) FILTER (WHERE r.cached_tokens IS NOT NULL), 0) AS BIGINT) AS input_tokens_reporting,  -- Prompt tokens of requests that report cached_tokens.
    CAST(coalesce(sum(r.cached_tokens), 0) AS BIGINT) AS cached_tokens,           -- Prompt tokens read from the cache, tokens.
    CAST(coalesce(sum(r.cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,  -- Prompt tokens written to the cache, tokens.
    count(*) FILTER (WHERE r.cache_write_tokens > 0) AS cache_write_requests,  -- Requests that wrote to the cache.
    coalesce(sum(r.cached_tokens), 0) / nullif(coalesce(sum(r.input_tokens) FILTER (WHERE r.cached_tokens IS NOT NULL), 0), 0) AS cache_hit_rate,  -- cached_tokens / input_tokens_reporting (0-1); NULL when nothing reports.
    coalesce(sum(r.cached_tokens), 0) * (any_value(c.input_usd_per_mtok) - coalesce(any_value(c.cached_input_usd_per_mtok), any_value(c.input_usd_per_mtok))) / 1e6 AS savings_usd  -- Estimated savings of cached reads at list price, USD; NULL when the model is not catalogued.
FROM requests r
LEFT JOIN model_catalog c ON c.model = r.model
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY 1, 2, 3, 4;
