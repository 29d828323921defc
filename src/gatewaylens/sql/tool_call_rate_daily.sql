-- tool_call_rate_daily
-- Grain: one row per (day, model, provider, app). Counts are additive: any rollup is
-- sum(tool_call_requests) / sum(successful_requests).
--   tool_call_rate               = tool_call_requests / successful_requests
--                                  ("share of requests that end in a tool call", the headline)
--   tool_call_rate_when_offered  = tool_calls_when_offered / tools_offered_requests
--                                  (successful requests that offered tools; fair across providers)
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS tool_call_rate_daily (
    day                         DATE NOT NULL,
    model                       VARCHAR NOT NULL,
    provider                    VARCHAR NOT NULL,
    app                         VARCHAR NOT NULL,
    requests                    BIGINT NOT NULL,
    successful_requests         BIGINT NOT NULL,
    tool_call_requests          BIGINT NOT NULL,
    tool_call_rate              DOUBLE,
    tools_offered_requests      BIGINT NOT NULL,
    tool_calls_when_offered     BIGINT NOT NULL,
    tool_call_rate_when_offered DOUBLE
);

DELETE FROM tool_call_rate_daily
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO tool_call_rate_daily
SELECT
    day,
    model,
    coalesce(provider, '(unknown)') AS provider,
    coalesce(app, '(unknown)') AS app,
    count(*) AS requests,
    count(*) FILTER (WHERE status = 'success') AS successful_requests,
    count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS tool_call_requests,
    tool_call_requests / nullif(successful_requests, 0) AS tool_call_rate,
    count(*) FILTER (WHERE status = 'success' AND tools_offered) AS tools_offered_requests,
    count(*) FILTER (WHERE status = 'success' AND tools_offered AND finish_reason = 'tool_calls') AS tool_calls_when_offered,
    tool_calls_when_offered / nullif(tools_offered_requests, 0) AS tool_call_rate_when_offered
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider, app;
