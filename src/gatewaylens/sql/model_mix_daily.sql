-- model_mix_daily
-- Grain: one row per (day, model). Shares are of the day's totals, so each sums to 1 per day.
--   request_share = requests / day's requests;  token_share = total_tokens / day's total_tokens;
--   cost_share    = cost_usd / day's cost_usd (NULL when the day has no known cost).
-- model_tier and vendor come from model_catalog; a model missing from the catalog gets tier
-- 'other' and the vendor before the '/' of its slug (in_catalog = false).
-- cost_usd is read from cost_daily (logged cost, else catalog estimate; see cost_daily), so
-- cost_daily must be built first for the same days.

WITH per_model AS (
    SELECT day, model,
           count(*) AS requests,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens
    FROM requests
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day, model
), costs AS (
    SELECT day, model,
           sum(CAST(cost_usd AS DECIMAL(38, 12))) AS cost_usd,  -- exact: rebuilds are bit-identical
           coalesce(sum(requests) FILTER (WHERE cost_source = 'unknown'), 0) AS unknown_cost_requests
    FROM cost_daily
    WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
    GROUP BY day, model
)
SELECT
    p.day,                                                    -- UTC day of the requests (partition).
    p.model,                                                  -- Model slug 'vendor/model'.
    coalesce(c.tier, 'other') AS model_tier,                  -- 'frontier' | 'small' | 'specialty' | 'other' (model_catalog.tier).
    coalesce(c.vendor, split_part(p.model, '/', 1)) AS vendor,  -- Model vendor (model_catalog.vendor, else the slug prefix).
    c.model IS NOT NULL AS in_catalog,                        -- Whether the model is in model_catalog.
    p.requests,                                               -- Requests, errors included.
    CAST(p.input_tokens AS BIGINT) AS input_tokens,             -- Prompt tokens (cached included), tokens.
    CAST(p.output_tokens AS BIGINT) AS output_tokens,           -- Completion tokens (reasoning included), tokens.
    CAST(p.input_tokens + p.output_tokens AS BIGINT) AS total_tokens,  -- input_tokens + output_tokens, tokens.
    CAST(k.cost_usd AS DOUBLE) AS cost_usd,                   -- Logged or catalog-estimated cost, USD (from cost_daily; unknown costs excluded).
    CAST(coalesce(k.unknown_cost_requests, 0) AS BIGINT) AS unknown_cost_requests,  -- Requests whose cost is unknown (not logged, model not in catalog).
    p.requests / sum(p.requests) OVER (PARTITION BY p.day) AS request_share,  -- requests / day's requests (0-1).
    (p.input_tokens + p.output_tokens) / nullif(sum(p.input_tokens + p.output_tokens) OVER (PARTITION BY p.day), 0) AS token_share,  -- total_tokens / day's total_tokens (0-1).
    CAST(k.cost_usd / nullif(sum(k.cost_usd) OVER (PARTITION BY p.day), 0) AS DOUBLE) AS cost_share  -- cost_usd / day's cost_usd (0-1); NULL when the day's cost is 0 or unknown.
FROM per_model p
LEFT JOIN model_catalog c ON c.model = p.model
LEFT JOIN costs k ON k.day = p.day AND k.model = p.model
ORDER BY p.day, p.model;
