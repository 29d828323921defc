-- tool_call_rate_daily
-- Grain: one row per (day, model, provider, app). Counts are additive: any rollup is
-- sum(tool_call_requests) / sum(successful_requests).
--   tool_call_rate              = tool_call_requests / successful_requests
--                                 ("share of requests that end in a tool call", the industry headline)
--   tool_call_rate_when_offered = tool_calls_when_offered / tools_offered_requests
--                                 (only successful requests that offered tools: fair across providers and apps)
-- A tool call = a successful request with finish_reason = 'tool_calls'. NULL provider/app become '(unknown)'.
-- Caveat: tools_offered NULL (source does not say) counts as not offered; tools_unknown_requests shows how many.

SELECT
    day,                                                      -- UTC day of the requests (partition).
    model,                                                    -- Model slug 'vendor/model'.
    coalesce(provider, '(unknown)') AS provider,              -- Provider that served the request; '(unknown)' when not logged.
    coalesce(app, '(unknown)') AS app,                        -- Calling application; '(unknown)' when not logged.
    count(*) AS requests,                                     -- All requests, errors included.
    count(*) FILTER (WHERE status = 'success') AS successful_requests,  -- Requests with status = 'success'.
    count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS tool_call_requests,  -- Successful requests with finish_reason = 'tool_calls'.
    tool_call_requests / nullif(successful_requests, 0) AS tool_call_rate,  -- tool_call_requests / successful_requests (0-1); NULL when no success.
    count(*) FILTER (WHERE status = 'success' AND tools_offered) AS tools_offered_requests,  -- Successful requests with tools_offered = true.
    count(*) FILTER (WHERE status = 'success' AND tools_offered AND finish_reason = 'tool_calls') AS tool_calls_when_offered,  -- Of those, requests with finish_reason = 'tool_calls'.
    tool_calls_when_offered / nullif(tools_offered_requests, 0) AS tool_call_rate_when_offered,  -- tool_calls_when_offered / tools_offered_requests (0-1); NULL when none offered.
    count(*) FILTER (WHERE status = 'success' AND tools_offered IS NULL) AS tools_unknown_requests,  -- Successful requests with tools_offered NULL (coverage of the fair rate).
    CAST(coalesce(sum(tool_call_count) FILTER (WHERE status = 'success'), 0) AS BIGINT) AS tool_calls  -- Sum of tool_call_count over successful requests (calls, not requests).
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider, app;
