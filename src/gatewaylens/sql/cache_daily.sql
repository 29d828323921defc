-- cache_daily
-- Grain: one row per (day, model, provider, app). Additive.
--   cache_hit_rate = cached_tokens / input_tokens_reporting (prompt tokens of requests whose
--                    provider reports cached_tokens; a NULL cached_tokens is "not reported", not 0)
--   cache_read_savings_usd  = cached_tokens * (input_usd_per_mtok - cached_input_usd_per_mtok) / 1e6:
--                    what the cached reads would have cost more as uncached input
--   cache_write_premium_usd = cache_write_tokens * (cache_write_usd_per_mtok - input_usd_per_mtok) / 1e6:
--                    what writing to the cache cost above uncached input (Anthropic bills writes at
--                    1.25x input; 0 where the vendor bills no write price: OpenAI, Google implicit caching)
--   savings_usd    = cache_read_savings_usd - cache_write_premium_usd: the net saving (negative when
--                    the prompts written are not read back often enough to pay for their writes)
--   Prices: model_catalog, i.e. genai-prices' current list price of the model's vendor
--   (gatewaylens.prices) unless the catalog CSV overrides it; NULL when the model is not priced.
--   cache_write_tokens: prompt tokens written to the provider's cache (Anthropic-style explicit
--                    caching; NULL not reported counts as 0, cache_write_requests counts writers).
-- Caveats: list prices of the vendor today (no discounts, no provider-specific or historical
-- prices, no 1-hour cache-write rate); a provider that logs no cache writes shows no premium.

WITH a AS (
    SELECT r.day, r.model, coalesce(r.provider, '(unknown)') AS provider, coalesce(r.app, '(unknown)') AS app,
           count(*) AS requests,
           CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens,
           CAST(coalesce(sum(r.input_tokens) FILTER (WHERE r.cached_tokens IS NOT NULL), 0) AS BIGINT) AS input_tokens_reporting,
           CAST(coalesce(sum(r.cached_tokens), 0) AS BIGINT) AS cached_tokens,
           CAST(coalesce(sum(r.cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,
           count(*) FILTER (WHERE r.cache_write_tokens > 0) AS cache_write_requests,
           any_value(c.input_usd_per_mtok) AS p_in,
           coalesce(any_value(c.cached_input_usd_per_mtok), any_value(c.input_usd_per_mtok)) AS p_read,
           coalesce(any_value(c.cache_write_usd_per_mtok), any_value(c.input_usd_per_mtok)) AS p_write
    FROM requests r
    LEFT JOIN model_catalog c ON c.model = r.model
    WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY ALL
)
SELECT
    a.day,                                                        -- UTC day of the requests (partition).
    a.model,                                                      -- Model slug 'vendor/model'.
    a.provider,                                                   -- Provider that served the request; '(unknown)' when not logged.
    a.app,                                                        -- Calling application; '(unknown)' when not logged.
    a.requests,                                                   -- Requests, errors included.
    a.input_tokens,                                               -- Prompt tokens of all requests (cached included), tokens.
    a.input_tokens_reporting,                                     -- Prompt tokens of requests that report cached_tokens.
    a.cached_tokens,                                              -- Prompt tokens read from the cache, tokens.
    a.cache_write_tokens,                                         -- Prompt tokens written to the cache, tokens.
    a.cache_write_requests,                                       -- Requests that wrote to the cache.
    a.cached_tokens / nullif(a.input_tokens_reporting, 0) AS cache_hit_rate,  -- cached_tokens / input_tokens_reporting (0-1); NULL when nothing reports.
    a.cached_tokens * (a.p_in - a.p_read) / 1e6 AS cache_read_savings_usd,  -- What the cached reads saved against uncached input at list price, USD; NULL when the model is not priced.
    a.cache_write_tokens * (a.p_write - a.p_in) / 1e6 AS cache_write_premium_usd,  -- What the cache writes cost above uncached input at list price, USD (0 without a write price); NULL when the model is not priced.
    (a.cached_tokens * (a.p_in - a.p_read) - a.cache_write_tokens * (a.p_write - a.p_in)) / 1e6 AS savings_usd  -- Net savings of caching at list price (read savings - write premium), USD; NULL when the model is not priced.
FROM a
ORDER BY 1, 2, 3, 4;
