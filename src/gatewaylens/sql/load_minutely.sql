-- load_minutely
-- Grain: one row per (day, minute): all apps together, per UTC minute of request start. Only
-- minutes with requests have rows. For burst analysis (peak minute vs mean minute).

SELECT
    day,                                                      -- UTC day of the requests (partition).
    date_trunc('minute', ts) AS minute,                       -- Start of the UTC minute.
    count(*) AS requests,                                     -- Requests started in the minute.
    CAST(sum(input_tokens) AS BIGINT) AS input_tokens,          -- Prompt tokens, tokens.
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens         -- Completion tokens, tokens.
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, minute;
