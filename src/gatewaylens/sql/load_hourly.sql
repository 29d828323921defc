-- load_hourly
-- Grain: one row per (day, hour, app): the traffic of each UTC hour by request start (requests.ts).
-- Only hours with requests have rows. tool_call_requests = successful requests with
-- finish_reason = 'tool_calls'. Additive.
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS load_hourly (
    day                DATE NOT NULL,         -- UTC day of the requests (partition).
    hour               TIMESTAMPTZ NOT NULL,  -- Start of the UTC hour.
    app                VARCHAR NOT NULL,      -- Calling application; '(unknown)' when not logged.
    requests           BIGINT NOT NULL,       -- Requests started in the hour.
    input_tokens       BIGINT NOT NULL,       -- Prompt tokens, tokens.
    output_tokens      BIGINT NOT NULL,       -- Completion tokens, tokens.
    tool_call_requests BIGINT NOT NULL,       -- Successful requests that ended in a tool call.
    error_requests     BIGINT NOT NULL        -- Requests with status = 'error'.
);

DELETE FROM load_hourly
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO load_hourly
SELECT
    day,
    date_trunc('hour', ts) AS hour,
    coalesce(app, '(unknown)') AS app,
    count(*) AS requests,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS tool_call_requests,
    count(*) FILTER (WHERE status = 'error') AS error_requests
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, hour, app;
