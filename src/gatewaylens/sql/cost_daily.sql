-- cost_daily
-- Grain: one row per (day, app, model, provider, cost_source). Additive.
--   cost_source (requests.cost_source, set at ingest):
--     'logged'    : the gateway logged cost_usd for the request;
--     'estimated' : not logged; cost_estimated_usd is the list price from genai-prices at the
--                   request's UTC day (cached reads, cache writes and reasoning priced as the
--                   vendor does; see docs/marts.md "Cost");
--     'unknown'   : neither (model or price unknown).
--   cost_logged_usd    = sum(cost_usd)            over the group's requests that logged it;
--   cost_estimated_usd = sum(cost_estimated_usd)  over the group's requests that have a list price
--                        (logged ones included: logged vs estimate is cost_reconciliation_daily);
--   cost_usd           = best cost: sum(coalesce(cost_usd, cost_estimated_usd)), NULL when 'unknown'.
--   Coverage of any roll-up: sum(requests) FILTER (WHERE cost_source <> 'unknown') / sum(requests);
--   list-price coverage: sum(priced_requests) / sum(requests).
-- Caveats: estimates are list prices (no negotiated discounts; batch and flex tiers and
-- time-of-day prices are not modelled); a provider that does not report cached or cache-write
-- tokens is estimated as if the whole prompt were uncached. Sums are exact (DECIMAL), so a
-- rebuild is bit-identical whatever the thread order.

SELECT
    r.day,                                                    -- UTC day of the requests (partition).
    coalesce(r.app, '(unknown)') AS app,                      -- Calling application; '(unknown)' when not logged.
    r.model,                                                  -- Model slug 'vendor/model'.
    coalesce(r.provider, '(unknown)') AS provider,            -- Provider that served the request; '(unknown)' when not logged.
    coalesce(r.cost_source, 'unknown') AS cost_source,        -- 'logged' | 'estimated' | 'unknown' (see the header).
    count(*) AS requests,                                     -- Requests, errors included.
    count(r.cost_estimated_usd) AS priced_requests,           -- Requests with a list-price estimate (cost_estimated_usd not NULL).
    CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens,      -- Prompt tokens (cached and cache-written included), tokens.
    CAST(coalesce(sum(r.cached_tokens), 0) AS BIGINT) AS cached_tokens,  -- Reported cached prompt tokens (NULL counted as 0), tokens.
    CAST(coalesce(sum(r.cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,  -- Reported prompt tokens written to the cache (NULL counted as 0), tokens.
    CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens,    -- Completion tokens (reasoning included), tokens.
    CAST(sum(CAST(r.cost_usd AS DECIMAL(38, 12))) AS DOUBLE) AS cost_logged_usd,  -- Logged cost, USD; NULL when no request of the group logged one.
    CAST(sum(CAST(r.cost_estimated_usd AS DECIMAL(38, 12))) AS DOUBLE) AS cost_estimated_usd,  -- List-price estimate, USD; NULL when no request of the group has one.
    CAST(sum(CAST(coalesce(r.cost_usd, r.cost_estimated_usd) AS DECIMAL(38, 12))) AS DOUBLE) AS cost_usd  -- Best cost (logged, else estimated), USD; NULL when cost_source = 'unknown'.
FROM requests r
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY 1, 2, 3, 4, 5;
