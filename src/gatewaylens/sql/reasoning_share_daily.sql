-- reasoning_share_daily
-- Grain: one row per (day, model, provider). Counts are additive: any rollup is
-- sum(reasoning_tokens) / sum(output_tokens_reporting).
--   reasoning_share   = reasoning_tokens / output_tokens_reporting
--   reporting_coverage = reporting_requests / requests
-- Only requests that REPORT reasoning (reasoning_tokens NOT NULL, reported zeros included) enter
-- the share: a request that does not report reasoning never counts as zero reasoning.
-- Caveat: models reporting a constant 0 ('zero' in model_catalog) do lower the share, by design
-- (they did no reasoning); filter on the catalog to exclude them.
-- Bind: SET VARIABLE start_day = DATE '...'; SET VARIABLE end_day = DATE '...';

CREATE TABLE IF NOT EXISTS reasoning_share_daily (
    day                     DATE NOT NULL,     -- UTC day of the requests (partition).
    model                   VARCHAR NOT NULL,  -- Model slug 'vendor/model'.
    provider                VARCHAR NOT NULL,  -- Provider that served the request; '(unknown)' when not logged.
    requests                BIGINT NOT NULL,   -- All requests, errors included.
    reporting_requests      BIGINT NOT NULL,   -- Requests with reasoning_tokens NOT NULL.
    zero_reasoning_requests BIGINT NOT NULL,   -- Reporting requests whose reasoning_tokens = 0 (reported zero, not unknown).
    output_tokens           BIGINT NOT NULL,   -- Completion tokens of all requests (reasoning included), tokens.
    output_tokens_reporting BIGINT NOT NULL,   -- Completion tokens of the reporting requests, tokens.
    reasoning_tokens        BIGINT NOT NULL,   -- Reasoning tokens of the reporting requests, tokens.
    reasoning_share         DOUBLE,            -- reasoning_tokens / output_tokens_reporting (0-1); NULL when nothing reported.
    reporting_coverage      DOUBLE             -- reporting_requests / requests (0-1): how much of the traffic the share covers.
);

DELETE FROM reasoning_share_daily
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day');

INSERT INTO reasoning_share_daily
SELECT
    day,
    model,
    coalesce(provider, '(unknown)') AS provider,
    count(*) AS requests,
    count(reasoning_tokens) AS reporting_requests,
    count(*) FILTER (WHERE reasoning_tokens = 0) AS zero_reasoning_requests,
    sum(output_tokens) AS output_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE reasoning_tokens IS NOT NULL), 0) AS output_tokens_reporting,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(reasoning_tokens), 0)
        / nullif(coalesce(sum(output_tokens) FILTER (WHERE reasoning_tokens IS NOT NULL), 0), 0) AS reasoning_share,
    count(reasoning_tokens) / count(*) AS reporting_coverage
FROM requests
WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')
GROUP BY ALL
ORDER BY day, model, provider;
