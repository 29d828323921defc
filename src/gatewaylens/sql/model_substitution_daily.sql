-- model_substitution_daily
-- Grain: one row per (day, app, model_requested, model) over requests whose source says which
-- model was asked for (requests.model_requested NOT NULL: LiteLLM model_group, OTel
-- gen_ai.request.model, OpenRouter's requested slug). Both ids are normalised to the same
-- canonical slugs (gatewaylens.identity), so a dated snapshot of the requested model
-- ('gpt-4.1' asked, 'gpt-4.1-2025-04-14' served) is not a substitution.
--   substituted = model <> model_requested: the gateway served another model than asked (a model
--   fallback, a router alias resolved, a deprecation redirect).
--   Substitution rate of any roll-up: sum(requests) FILTER (WHERE substituted) / sum(requests).
-- Caveats: a requested id that is a gateway alias (a LiteLLM model_group such as 'fast') is never
-- equal to a served slug: every request of it counts as substituted. Requests whose source does
-- not report the requested model are not in this mart.

SELECT
    r.day,                                                    -- UTC day of the requests (partition).
    coalesce(r.app, '(unknown)') AS app,                      -- Calling application; '(unknown)' when not logged.
    r.model_requested,                                        -- Model the caller asked for (canonical slug, or the id as given when unrecognised).
    r.model,                                                  -- Model that served the request (canonical slug).
    r.model <> r.model_requested AS substituted,              -- True when the served model is not the requested one.
    count(*) AS requests,                                     -- Requests, errors included.
    count(*) FILTER (WHERE r.status = 'error') AS error_requests  -- Requests that ended in an error.
FROM requests r
WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
  AND r.model_requested IS NOT NULL
GROUP BY ALL
ORDER BY 1, 2, 3, 4;
