-- tool_call_rate_daily
-- Grain: one row per (day, model, provider, app). Counts are additive: any rollup is
-- sum(tool_call_requests) / sum(successful_requests).
--   tool_call_rate              = tool_call_requests / successful_requests
--                                 ("share of requests that end in a tool call", the industry headline)
--   tool_call_rate_when_offered = tool_calls_when_offered / tools_offered_requests
--                                 (only successful requests that offered tools: fair across providers and apps)
-- A tool call = a successful request with finish_reason = 'tool_calls'. NULL provider/app become '(unknown)'.
-- Caveat: tools_offered NULL (source does not say) counts as not offered; tools_unknown_requests shows how many.
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS tool_call_rate_daily (
    day                         DATE NOT NULL,     -- UTC day of the requests (partition).
    model                       VARCHAR NOT NULL,  -- Model slug 'vendor/model'.
    provider                    VARCHAR NOT NULL,  -- Provider that served the request; '(unknown)' when not logged.
    app                         VARCHAR NOT NULL,  -- Calling application; '(unknown)' when not logged.
    requests                    BIGINT NOT NULL,   -- All requests, errors included.
    successful_requests         BIGINT NOT NULL,   -- Requests with status = 'success'.
    tool_call_requests          BIGINT NOT NULL,   -- Successful requests with finish_reason = 'tool_calls'.
    tool_call_rate              DOUBLE,            -- tool_call_requests / successful_requests (0-1); NULL when no success.
    tools_offered_requests      BIGINT NOT NULL,   -- Successful requests with tools_offered = true.
    tool_calls_when_offered     BIGINT NOT NULL,   -- Of those, requests with finish_reason = 'tool_calls'.
    tool_call_rate_when_offered DOUBLE,            -- tool_calls_when_offered / tools_offered_requests (0-1); NULL when none offered.
    tools_unknown_requests      BIGINT NOT NULL,   -- Successful requests with tools_offered NULL (coverage of the fair rate).
    tool_calls                  BIGINT NOT NULL    -- Sum of tool_call_count over successful requests (calls, not requests).
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
    tool_calls_when_offered / nullif(tools_offered_requests, 0) AS tool_call_rate_when_offered,
    count(*) FILTER (WHERE status = 'success' AND tools_offered IS NULL) AS tools_unknown_requests,
    coalesce(sum(tool_call_count) FILTER (WHERE status = 'success'), 0) AS tool_calls
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider, app;
