-- load_minutely
-- Grain: one row per (day, minute): all apps together, per UTC minute of request start. Only
-- minutes with requests have rows. For burst analysis (peak minute vs mean minute).
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS load_minutely (
    day           DATE NOT NULL,         -- UTC day of the requests (partition).
    minute        TIMESTAMPTZ NOT NULL,  -- Start of the UTC minute.
    requests      BIGINT NOT NULL,       -- Requests started in the minute.
    input_tokens  BIGINT NOT NULL,       -- Prompt tokens, tokens.
    output_tokens BIGINT NOT NULL        -- Completion tokens, tokens.
);

DELETE FROM load_minutely
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO load_minutely
SELECT
    day,
    date_trunc('minute', ts) AS minute,
    count(*) AS requests,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, minute;
