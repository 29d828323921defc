-- load_hourly
-- Grain: one row per (day, hour, app): the traffic of each UTC hour by request start (requests.ts).
-- Only hours with requests have rows. tool_call_requests = successful requests with
-- finish_reason = 'tool_calls'. Additive.

SELECT
    day,                                                      -- UTC day of the requests (partition).
    date_trunc('hour', ts) AS hour,                           -- Start of the UTC hour.
    coalesce(app, '(unknown)') AS app,                        -- Calling application; '(unknown)' when not logged.
    count(*) AS requests,                                     -- Requests started in the hour.
    CAST(sum(input_tokens) AS BIGINT) AS input_tokens,          -- Prompt tokens, tokens.
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens,        -- Completion tokens, tokens.
    count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS tool_call_requests,  -- Successful requests that ended in a tool call.
    count(*) FILTER (WHERE status = 'error') AS error_requests  -- Requests with status = 'error'.
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, hour, app;
