-- policy_exposure_daily
-- Grain: one row per (day, app, provider). Additive: shares are sum(tokens of a group) / sum(tokens).
-- Where the traffic went, with what each provider publishes about prompts: cost_daily's requests,
-- tokens and cost per (day, app, provider) joined to the provider catalogue (table
-- provider_catalog: src/gatewaylens/data/providers.csv, extended/overridden by
-- $GATEWAYLENS_PROVIDERS). "What share of our tokens went to providers that retain prompts, or
-- outside the EU, last month, per app?" = sum(input_tokens + output_tokens) filtered on the
-- attribute / the total.
--   policy_known = the provider has a row in the catalogue; every attribute of a provider without
--                  one (and of '(unknown)' providers) is 'unknown'.
-- Caveats: the catalogue is a starting point compiled from published policies (each row cites its
-- source_url and as_of date) — review it for your contracts (a ZDR agreement changes
-- retains_prompts). Attributes are copied at build time: rebuild past days after editing it.

SELECT
    c.day,                                                        -- UTC day of the requests (partition).
    c.app,                                                        -- Calling application; '(unknown)' when not logged.
    c.provider,                                                   -- Provider that served the request; '(unknown)' when not logged.
    CAST(sum(c.requests) AS BIGINT) AS requests,                                  -- Requests, errors included.
    CAST(sum(c.input_tokens) AS BIGINT) AS input_tokens,                          -- Prompt tokens sent (cached included), tokens.
    CAST(sum(c.output_tokens) AS BIGINT) AS output_tokens,                        -- Completion tokens received, tokens.
    CAST(sum(CAST(c.cost_usd AS DECIMAL(38, 12))) AS DOUBLE) AS cost_usd,  -- Cost as in cost_daily (logged or estimated), USD; NULL when unknown.
    any_value(p.provider) IS NOT NULL AS policy_known,            -- The provider is in the catalogue.
    coalesce(any_value(p.retains_prompts), 'unknown') AS retains_prompts,            -- 'yes' | 'no' | 'varies' | 'unknown': prompts kept after the response by default.
    coalesce(any_value(p.trains_on_prompts), 'unknown') AS trains_on_prompts,        -- 'yes' | 'no' | 'varies' | 'unknown': prompts may train models by default.
    coalesce(any_value(p.zdr_available), 'unknown') AS zdr_available,                -- 'yes' | 'no' | 'unknown': a zero-data-retention option exists.
    coalesce(any_value(p.jurisdiction), 'unknown') AS jurisdiction,                  -- Where prompts are processed: country/region codes (US, EU, CN), REGION = the customer's chosen cloud region, GLOBAL = any.
    coalesce(any_value(p.gpu_ownership), 'unknown') AS gpu_ownership,                -- 'owned' | 'leased' | 'unknown': who owns the serving hardware.
    coalesce(any_value(p.confidential_compute), 'unknown') AS confidential_compute,  -- 'yes' | 'no' | 'unknown': decryption only inside a TEE.
    coalesce(any_value(p.quantization_disclosed), 'unknown') AS quantization_disclosed  -- 'yes' | 'no' | 'unknown': the provider says how it quantizes models.
FROM cost_daily c
LEFT JOIN provider_catalog p ON p.provider = c.provider
WHERE c.day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY c.day, c.app, c.provider
ORDER BY c.day, c.app, c.provider;
