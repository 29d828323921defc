-- vendor_concentration_monthly
-- Grain: one row per (month, app); day = the first day of the month (the partition). Built per
-- month: a build of any day rebinds its whole month (start_day = the 1st, end_day = the last day)
-- and reads only that month's requests, so each build stays O(month), never all history.
-- Lock-in and optionality, on tokens (input + output):
--   vendor_hhi / provider_hhi = sum over vendors (providers) of (their token share)^2: 1 = one
--                               vendor only, 1/n = n vendors with equal shares (Herfindahl-Hirschman)
--   top_vendor, top_vendor_share = the vendor with most tokens and its share
--   single_provider_share = tokens on models that only ONE provider served to this app that
--                           month / the app's tokens (no failover possible for that traffic)
--   failover_coverage     = requests whose model had at least two providers in the whole
--                           gateway's traffic that day / the app's requests
-- vendor = model_catalog.vendor, else the slug prefix. '(unknown)' providers count in
-- provider_hhi but never as a serving provider.

WITH r AS (
    SELECT CAST(date_trunc('month', r.day) AS DATE) AS month, r.day, coalesce(r.app, '(unknown)') AS app, r.model,
           coalesce(c.vendor, split_part(r.model, '/', 1)) AS vendor, coalesce(r.provider, '(unknown)') AS provider,
           r.input_tokens + r.output_tokens AS tokens
    FROM requests r
    LEFT JOIN model_catalog c ON c.model = r.model
    WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
), served AS (  -- providers serving each model each day, whole gateway
    SELECT day, model, count(DISTINCT provider) FILTER (WHERE provider <> '(unknown)') AS providers
    FROM r GROUP BY day, model
), app_month AS (
    SELECT month, app, count(*) AS requests, sum(tokens) AS tokens, count(DISTINCT model) AS models_used,
           count(DISTINCT vendor) AS vendors_used,
           count(DISTINCT provider) FILTER (WHERE provider <> '(unknown)') AS providers_used
    FROM r GROUP BY month, app
), v AS (
    SELECT month, app, vendor, sum(tokens) AS t FROM r GROUP BY month, app, vendor
), vh AS (
    SELECT month, app, sum(CAST(t AS DOUBLE) * t) AS tt, first(vendor ORDER BY t DESC, vendor) AS top_vendor, max(t) AS top_t
    FROM v GROUP BY month, app
), p AS (
    SELECT month, app, provider, sum(tokens) AS t FROM r GROUP BY month, app, provider
), ph AS (
    SELECT month, app, sum(CAST(t AS DOUBLE) * t) AS tt FROM p GROUP BY month, app
), mp AS (
    SELECT month, app, model, sum(tokens) AS t,
           count(DISTINCT provider) FILTER (WHERE provider <> '(unknown)') AS providers
    FROM r GROUP BY month, app, model
), single AS (
    SELECT month, app, coalesce(sum(t) FILTER (WHERE providers = 1), 0) AS single_tokens FROM mp GROUP BY month, app
), cov AS (
    SELECT r.month, r.app, count(*) FILTER (WHERE s.providers >= 2) AS covered
    FROM r JOIN served s ON s.day = r.day AND s.model = r.model
    GROUP BY r.month, r.app
)
SELECT
    a.month AS day,                                               -- First day of the month, UTC (partition).
    a.app,                                                        -- Calling application; '(unknown)' when not logged.
    a.requests,                                                   -- Requests of the app in the month.
    CAST(a.tokens AS BIGINT) AS total_tokens,                                     -- Input + output tokens of the app in the month.
    a.models_used,                                                -- Distinct models the app used.
    a.vendors_used,                                               -- Distinct model vendors the app used.
    a.providers_used,                                             -- Distinct (known) providers that served the app.
    vh.tt / nullif(CAST(a.tokens AS DOUBLE) * a.tokens, 0) AS vendor_hhi,  -- Herfindahl-Hirschman index of token shares over vendors (1/n..1); NULL without tokens.
    ph.tt / nullif(CAST(a.tokens AS DOUBLE) * a.tokens, 0) AS provider_hhi,  -- Herfindahl-Hirschman index of token shares over providers (1/n..1).
    vh.top_vendor,                                                -- Vendor with the most tokens (ties: alphabetical).
    vh.top_t / nullif(a.tokens, 0) AS top_vendor_share,           -- Its share of the app's tokens (0-1).
    CAST(s.single_tokens AS BIGINT) AS single_provider_tokens,                    -- Tokens on models only one provider served to the app that month.
    s.single_tokens / nullif(a.tokens, 0) AS single_provider_share,  -- single_provider_tokens / total_tokens (0-1).
    c.covered AS failover_covered_requests,                       -- Requests whose model had >= 2 providers in the gateway that day.
    c.covered / a.requests AS failover_coverage                   -- failover_covered_requests / requests (0-1).
FROM app_month a
JOIN vh USING (month, app)
JOIN ph USING (month, app)
JOIN single s USING (month, app)
JOIN cov c USING (month, app)
ORDER BY a.month, a.app;
