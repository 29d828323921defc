-- cost_reconciliation_daily
-- Grain: one row per (day, model, provider) over requests that have BOTH a logged cost
-- (cost_usd) and a list-price estimate (cost_estimated_usd > 0): what the gateway billed
-- against what the vendor's list price says, per model and provider. It shows discounts and
-- free tiers (ratio < 1), BYOK requests logged at 0, and mark-ups or fees (ratio > 1).
--   ratio        = logged_usd / estimated_usd (the bill's share of list price);
--   ratio_p10, ratio_median, ratio_p90: quantiles of the per-request ratio cost_usd / cost_estimated_usd
--   (the spread: one price for every request gives p10 = p90);
--   zero_logged_requests: logged at exactly 0 (BYOK, free tiers, cached responses).
-- Caveats: the estimate assumes list prices and the token counts the source reported (a source
-- that omits cached tokens makes the estimate too high); quantiles are not additive across days
-- (roll up logged_usd and estimated_usd and divide instead).

SELECT
    r.day,                                                    -- UTC day of the requests (partition).
    r.model,                                                  -- Model slug 'vendor/model'.
    coalesce(r.provider, '(unknown)') AS provider,            -- Provider that served the request; '(unknown)' when not logged.
    count(*) AS requests,                                     -- Requests with both a logged cost and a positive list-price estimate.
    count(*) FILTER (WHERE r.cost_usd = 0) AS zero_logged_requests,  -- Of these, logged at exactly 0 USD.
    CAST(sum(CAST(r.cost_usd AS DECIMAL(38, 12))) AS DOUBLE) AS logged_usd,  -- Sum of logged cost, USD.
    CAST(sum(CAST(r.cost_estimated_usd AS DECIMAL(38, 12))) AS DOUBLE) AS estimated_usd,  -- Sum of list-price estimates of the same requests, USD.
    CAST(sum(CAST(r.cost_usd AS DECIMAL(38, 12))) / sum(CAST(r.cost_estimated_usd AS DECIMAL(38, 12))) AS DOUBLE) AS ratio,  -- logged_usd / estimated_usd.
    quantile_cont(r.cost_usd / r.cost_estimated_usd, 0.1) AS ratio_p10,      -- 10th percentile of the per-request ratio.
    quantile_cont(r.cost_usd / r.cost_estimated_usd, 0.5) AS ratio_median,   -- Median per-request ratio.
    quantile_cont(r.cost_usd / r.cost_estimated_usd, 0.9) AS ratio_p90       -- 90th percentile of the per-request ratio.
FROM requests r
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
  AND r.cost_usd IS NOT NULL AND r.cost_estimated_usd > 0
GROUP BY ALL
ORDER BY 1, 2, 3;
