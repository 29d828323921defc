"""Overview: is agent adoption growing?

KPI tiles for the selected period with deltas against the previous period of equal length,
and the two headline adoption curves (tool-call rate, reasoning-token share) by time grain.
Reads tool_call_rate_daily, reasoning_share_daily and cost_daily.
"""

import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.figures import build_adoption_figure
from dashboards.charts.filters import Filters, bucket

PAGE = "overview"
ALL = ("model", "provider", "app")
MP = ("model", "provider")

data.require("tool_call_rate_daily", "reasoning_share_daily", "cost_daily")
filters = sidebar.current()

st.title("Agent adoption overview")
ui.period_caption(filters)


def totals(f: Filters) -> dict[str, float | None]:
    """Additive totals of one period; rates recomputed as sum/sum."""
    t = data.query(
        "SELECT sum(requests) AS requests, sum(successful_requests) AS successful_requests, "
        "sum(tool_call_requests) AS tool_call_requests FROM tool_call_rate_daily WHERE " + f.where(ALL),
        f.params(ALL),
    ).row(0, named=True)
    c = data.query(
        "SELECT sum(input_tokens + output_tokens) AS tokens, sum(cost_usd) AS cost_usd FROM cost_daily WHERE "
        + f.where(ALL),
        f.params(ALL),
    ).row(0, named=True)
    r = data.query(
        "SELECT sum(reasoning_tokens) AS reasoning_tokens, sum(output_tokens_reporting) AS output_tokens_reporting "
        "FROM reasoning_share_daily WHERE " + f.where(MP),
        f.params(MP),
    ).row(0, named=True)
    return {
        "requests": t["requests"],
        "tokens": c["tokens"],
        "tool_call_rate": ui.ratio(t["tool_call_requests"], t["successful_requests"]),
        "reasoning_share": ui.ratio(r["reasoning_tokens"], r["output_tokens_reporting"]),
        "cost_usd": c["cost_usd"],
        "success_rate": ui.ratio(t["successful_requests"], t["requests"]),
    }


cur, prev = totals(filters), totals(filters.previous())
if not cur["requests"]:
    st.info(f"No requests match the filters in this period. {data.NO_DATA if not prev['requests'] else ''}")
    st.stop()

prev_label = f"vs {filters.previous().start:%Y-%m-%d} → {filters.previous().end:%Y-%m-%d}"
cols = st.columns(6)
cols[0].metric("Requests", ui.fmt_count(cur["requests"]), ui.pct_delta(cur["requests"], prev["requests"]), help=prev_label)
cols[1].metric("Tokens", ui.fmt_count(cur["tokens"]), ui.pct_delta(cur["tokens"], prev["tokens"]), help="input + output tokens; " + prev_label)
cols[2].metric(
    "Tool-call rate", ui.fmt_pct(cur["tool_call_rate"]), ui.pp_delta(cur["tool_call_rate"], prev["tool_call_rate"]),
    help="successful requests ending in a tool call; " + prev_label,
)
cols[3].metric(
    "Reasoning share", ui.fmt_pct(cur["reasoning_share"]), ui.pp_delta(cur["reasoning_share"], prev["reasoning_share"]),
    help="reasoning tokens / output tokens of requests that report reasoning (app filter does not apply); " + prev_label,
)
cols[4].metric(
    "Cost", "n/a" if cur["cost_usd"] is None else f"${cur['cost_usd']:,.0f}", ui.pct_delta(cur["cost_usd"], prev["cost_usd"]),
    delta_color="off", help="USD: logged by the gateway, else the list-price estimate (genai-prices at the request's date); " + prev_label,
)
cols[5].metric(
    "Success rate", ui.fmt_pct(cur["success_rate"]), ui.pp_delta(cur["success_rate"], prev["success_rate"]),
    help="requests with status success; " + prev_label,
)

b = bucket(filters.grain)
curve = data.query(
    f"""
    WITH t AS (
        SELECT {b} AS period, sum(tool_call_requests) AS tool_call_requests, sum(successful_requests) AS successful_requests
        FROM tool_call_rate_daily WHERE {filters.where(ALL)} GROUP BY ALL
    ), r AS (
        SELECT {b} AS period, sum(reasoning_tokens) AS reasoning_tokens, sum(output_tokens_reporting) AS output_tokens_reporting
        FROM reasoning_share_daily WHERE {filters.where(MP)} GROUP BY ALL
    )
    SELECT period, tool_call_requests, successful_requests,
           tool_call_requests / nullif(successful_requests, 0) AS tool_call_rate,
           coalesce(reasoning_tokens, 0) AS reasoning_tokens, coalesce(output_tokens_reporting, 0) AS output_tokens_reporting,
           reasoning_tokens / nullif(output_tokens_reporting, 0) AS reasoning_share
    FROM t LEFT JOIN r USING (period) ORDER BY period
    """,
    filters.params(ALL),
)
ui.chart(build_adoption_figure(curve), curve, "adoption_curves", PAGE)
ui.ignored_note(filters, MP, "reasoning_share_daily")
