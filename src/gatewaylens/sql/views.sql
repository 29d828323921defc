-- Analyst views, (re)created by every mart build (gatewaylens.marts.ensure_views).
-- Documented in blocks: '-- @view NAME', description lines, '-- @col NAME: description'.

-- @view v_requests
-- Grain: one row per request: the requests table plus the model catalog and convenience columns,
-- the starting point for ad-hoc questions. Columns of requests are documented under `requests`;
-- the added ones are listed here.
-- @col hour: Start of the UTC hour of ts.
-- @col model_tier: 'frontier' | 'small' | 'specialty' | 'other' (model_catalog; 'other' when not catalogued).
-- @col vendor: Model vendor (model_catalog, else the slug prefix).
-- @col is_tool_call: status = 'success' AND finish_reason = 'tool_calls' (the tool-call definition of every mart).
-- @col reasoning_reported: reasoning_tokens IS NOT NULL.
-- @col cost_usd_effective: Logged cost, else the list-price estimate (cost_estimated_usd), USD (NULL when unknown).
CREATE OR REPLACE VIEW v_requests AS
SELECT
    r.*,
    date_trunc('hour', r.ts) AS hour,
    coalesce(c.tier, 'other') AS model_tier,
    coalesce(c.vendor, split_part(r.model, '/', 1)) AS vendor,
    r.status = 'success' AND r.finish_reason = 'tool_calls' AS is_tool_call,
    r.reasoning_tokens IS NOT NULL AS reasoning_reported,
    coalesce(r.cost_usd, r.cost_estimated_usd) AS cost_usd_effective
FROM requests r
LEFT JOIN model_catalog c ON c.model = r.model;

-- @view v_adoption_monthly
-- Grain: one row per calendar month (UTC): "how is agent adoption trending?" in one query.
-- Rolled up from the daily marts with sum(numerator) / sum(denominator), so it is exact and
-- cheap; a month shows the days built so far.
-- @col month: First day of the month.
-- @col days: Days with requests in the month.
-- @col requests: Requests, errors included.
-- @col successful_requests: Requests with status = 'success'.
-- @col tool_call_requests: Successful requests ending in a tool call.
-- @col tool_call_rate: tool_call_requests / successful_requests (0-1).
-- @col reasoning_tokens: Reasoning tokens of requests that report reasoning.
-- @col output_tokens_reporting: Completion tokens of requests that report reasoning.
-- @col reasoning_share: reasoning_tokens / output_tokens_reporting (0-1).
-- @col total_tokens: Input + output tokens.
-- @col frontier_tokens: Input + output tokens of 'frontier'-tier models.
-- @col frontier_token_share: frontier_tokens / total_tokens (0-1).
-- @col small_requests: Requests to 'small'-tier models.
-- @col small_request_share: small_requests / requests (0-1).
-- @col cost_usd: Logged or list-price-estimated cost, USD (unknown costs excluded).
CREATE OR REPLACE VIEW v_adoption_monthly AS
WITH t AS (
    SELECT date_trunc('month', day)::DATE AS month,
           count(DISTINCT day) AS days,
           sum(requests) AS requests,
           sum(successful_requests) AS successful_requests,
           sum(tool_call_requests) AS tool_call_requests
    FROM tool_call_rate_daily GROUP BY 1
), r AS (
    SELECT date_trunc('month', day)::DATE AS month,
           sum(reasoning_tokens) AS reasoning_tokens,
           sum(output_tokens_reporting) AS output_tokens_reporting
    FROM reasoning_share_daily GROUP BY 1
), m AS (
    SELECT date_trunc('month', day)::DATE AS month,
           sum(total_tokens) AS total_tokens,
           coalesce(sum(total_tokens) FILTER (WHERE model_tier = 'frontier'), 0) AS frontier_tokens,
           coalesce(sum(requests) FILTER (WHERE model_tier = 'small'), 0) AS small_requests,
           sum(requests) AS requests,
           sum(cost_usd) AS cost_usd
    FROM model_mix_daily GROUP BY 1
)
SELECT
    t.month,
    t.days,
    t.requests,
    t.successful_requests,
    t.tool_call_requests,
    t.tool_call_requests / nullif(t.successful_requests, 0) AS tool_call_rate,
    r.reasoning_tokens,
    r.output_tokens_reporting,
    r.reasoning_tokens / nullif(r.output_tokens_reporting, 0) AS reasoning_share,
    m.total_tokens,
    m.frontier_tokens,
    m.frontier_tokens / nullif(m.total_tokens, 0) AS frontier_token_share,
    m.small_requests,
    m.small_requests / nullif(m.requests, 0) AS small_request_share,
    m.cost_usd
FROM t
LEFT JOIN r USING (month)
LEFT JOIN m USING (month)
ORDER BY t.month;
