-- cost_daily
-- Grain: one row per (day, app, model, provider, cost_source). Additive.
--   cost_source = 'logged'  : the gateway logged cost_usd for the request (used as is);
--                 'catalog' : not logged; estimated from model_catalog list prices:
--                             ((input_tokens - cached_tokens) * input_usd_per_mtok
--                              + cached_tokens * cached_input_usd_per_mtok
--                              + output_tokens * output_usd_per_mtok) / 1e6   (cached_tokens NULL = 0);
--                 'unknown' : not logged and the model is not in the catalog (cost_usd NULL).
-- Caveats: catalog estimates are list prices (no discounts, batch or regional pricing) and
-- overestimate when the provider does not report cached_tokens; the catalog is read at build
-- time, so rebuild past days after changing prices.

SELECT
    r.day,                                                    -- UTC day of the requests (partition).
    coalesce(r.app, '(unknown)') AS app,                      -- Calling application; '(unknown)' when not logged.
    r.model,                                                  -- Model slug 'vendor/model'.
    coalesce(r.provider, '(unknown)') AS provider,            -- Provider that served the request; '(unknown)' when not logged.
    CASE WHEN r.cost_usd IS NOT NULL THEN 'logged'
         WHEN c.model IS NOT NULL THEN 'catalog'
         ELSE 'unknown' END AS cost_source,                   -- 'logged' | 'catalog' | 'unknown' (see the header).
    count(*) AS requests,                                     -- Requests, errors included.
    CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens,        -- Prompt tokens (cached included), tokens.
    CAST(coalesce(sum(r.cached_tokens), 0) AS BIGINT) AS cached_tokens,  -- Reported cached prompt tokens (NULL counted as 0), tokens.
    CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens,      -- Completion tokens (reasoning included), tokens.
    -- summed as DECIMAL: exact, so a rebuild gives bit-identical results whatever the thread order
    CAST(sum(CAST(CASE WHEN r.cost_usd IS NOT NULL THEN r.cost_usd
             ELSE ((r.input_tokens - coalesce(r.cached_tokens, 0)) * c.input_usd_per_mtok
                   + coalesce(r.cached_tokens, 0) * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
                   + r.output_tokens * c.output_usd_per_mtok) / 1e6 END AS DECIMAL(38, 12))) AS DOUBLE) AS cost_usd  -- Cost in USD (logged or catalog estimate); NULL when cost_source = 'unknown'.
FROM requests r
LEFT JOIN model_catalog c ON c.model = r.model
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY 1, 2, 3, 4, 5;
