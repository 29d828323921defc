-- app_model_mix_daily
-- Grain: one row per (day, app). The "frontier plans, small executes" pattern per app:
--   small_share_of_tool_calls = small_tool_call_requests / tool_call_requests
-- (the share of the app's tool calls made by 'small'-tier models). Tiers from model_catalog;
-- models missing from it count as 'other'. A tool call = a successful request with
-- finish_reason = 'tool_calls' (as in tool_call_rate_daily).

WITH r AS (
    SELECT r.day,
           coalesce(r.app, '(unknown)') AS app,
           r.model,
           coalesce(c.tier, 'other') AS tier,
           r.status = 'success' AND r.finish_reason = 'tool_calls' AS is_tool_call
    FROM requests r
    LEFT JOIN model_catalog c ON c.model = r.model
    WHERE r.day BETWEEN getvariable('start_day') AND getvariable('end_day')
)
SELECT
    day,                                                      -- UTC day of the requests (partition).
    app,                                                      -- Calling application; '(unknown)' when not logged.
    count(*) AS requests,                                     -- Requests of the app, errors included.
    count(DISTINCT model) AS models_used,                     -- Distinct models the app called that day (not additive across days).
    count(*) FILTER (WHERE tier = 'frontier') AS frontier_requests,  -- Requests to 'frontier'-tier models.
    count(*) FILTER (WHERE tier = 'small') AS small_requests,  -- Requests to 'small'-tier models.
    count(*) FILTER (WHERE tier = 'specialty') AS specialty_requests,  -- Requests to 'specialty'-tier models.
    count(*) FILTER (WHERE tier = 'other') AS other_requests,  -- Requests to 'other'-tier or uncatalogued models.
    count(*) FILTER (WHERE is_tool_call) AS tool_call_requests,  -- Successful requests that ended in a tool call.
    count(*) FILTER (WHERE is_tool_call AND tier = 'frontier') AS frontier_tool_call_requests,  -- Of those, made by 'frontier'-tier models.
    count(*) FILTER (WHERE is_tool_call AND tier = 'small') AS small_tool_call_requests,  -- Of those, made by 'small'-tier models.
    count(*) FILTER (WHERE is_tool_call AND tier = 'small') / nullif(count(*) FILTER (WHERE is_tool_call), 0)
        AS small_share_of_tool_calls                          -- small_tool_call_requests / tool_call_requests (0-1); NULL without tool calls.
FROM r
GROUP BY day, app
ORDER BY day, app;
