-- app_model_mix_daily
-- Grain: one row per (day, app). The "frontier plans, small executes" pattern per app:
--   small_share_of_tool_calls = small_tool_call_requests / tool_call_requests
-- (the share of the app's tool calls made by 'small'-tier models). Tiers from model_catalog;
-- models missing from it count as 'other'. A tool call = a successful request with
-- finish_reason = 'tool_calls' (as in tool_call_rate_daily).
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS app_model_mix_daily (
    day                       DATE NOT NULL,     -- UTC day of the requests (partition).
    app                       VARCHAR NOT NULL,  -- Calling application; '(unknown)' when not logged.
    requests                  BIGINT NOT NULL,   -- Requests of the app, errors included.
    models_used               BIGINT NOT NULL,   -- Distinct models the app called that day (not additive across days).
    frontier_requests         BIGINT NOT NULL,   -- Requests to 'frontier'-tier models.
    small_requests            BIGINT NOT NULL,   -- Requests to 'small'-tier models.
    specialty_requests        BIGINT NOT NULL,   -- Requests to 'specialty'-tier models.
    other_requests            BIGINT NOT NULL,   -- Requests to 'other'-tier or uncatalogued models.
    tool_call_requests        BIGINT NOT NULL,   -- Successful requests that ended in a tool call.
    frontier_tool_call_requests BIGINT NOT NULL, -- Of those, made by 'frontier'-tier models.
    small_tool_call_requests  BIGINT NOT NULL,   -- Of those, made by 'small'-tier models.
    small_share_of_tool_calls DOUBLE             -- small_tool_call_requests / tool_call_requests (0-1); NULL without tool calls.
);

DELETE FROM app_model_mix_daily
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO app_model_mix_daily
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
    day,
    app,
    count(*) AS requests,
    count(DISTINCT model) AS models_used,
    count(*) FILTER (WHERE tier = 'frontier') AS frontier_requests,
    count(*) FILTER (WHERE tier = 'small') AS small_requests,
    count(*) FILTER (WHERE tier = 'specialty') AS specialty_requests,
    count(*) FILTER (WHERE tier = 'other') AS other_requests,
    count(*) FILTER (WHERE is_tool_call) AS tool_call_requests,
    count(*) FILTER (WHERE is_tool_call AND tier = 'frontier') AS frontier_tool_call_requests,
    count(*) FILTER (WHERE is_tool_call AND tier = 'small') AS small_tool_call_requests,
    count(*) FILTER (WHERE is_tool_call AND tier = 'small') / nullif(count(*) FILTER (WHERE is_tool_call), 0)
        AS small_share_of_tool_calls
FROM r
GROUP BY day, app
ORDER BY day, app;
