"""Overview: is agent adoption growing?

KPI tiles for the selected period with deltas against the previous period of equal length,
and the two headline adoption curves (tool-call rate, reasoning-token share) by time grain.
Reads tool_call_rate_daily, reasoning_share_daily and cost_daily; change-point markers from
provider_regressions (changes of a provider's tool-call rate or reasoning share).
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.alert_figures import add_change_markers
from dashboards.charts.changes import changes_in_period
from dashboards.charts.figures import build_adoption_figure
from dashboards.charts.filters import Filters, bucket
from gatewaylens.metrics import metric_sql

PAGE = "overview"
ALL = ("model", "provider", "app")
MP = ("model", "provider")

data.require("tool_call_rate_daily", "reasoning_share_daily", "cost_daily")
filters = sidebar.current()

st.title("Agent adoption overview")
ui.period_caption(filters)


def totals(f: Filters) -> dict[str, float | None]:
    """Additive totals of one period; rates recomputed as sum/sum (gatewaylens.metrics)."""
    t = data.query(metric_sql(["tool_call_rate", "success_rate"], where=f.where(ALL)), f.params(ALL)).row(0, named=True)
    c = data.query(metric_sql(["tokens", "cost_usd"], where=f.where(ALL)), f.params(ALL)).row(0, named=True)
    r = data.query(metric_sql(["reasoning_share"], where=f.where(MP)), f.params(MP)).row(0, named=True)
    return {
        "requests": t["requests"],
        "tokens": c["total_tokens"],
        "tool_call_rate": t["tool_call_rate"],
        "reasoning_share": r["reasoning_share"],
        "cost_usd": c["cost_usd"],
        "success_rate": t["success_rate"],
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
tool = data.query(metric_sql(["tool_call_rate"], where=filters.where(ALL), period=b), filters.params(ALL))
reasoning = data.query(metric_sql(["reasoning_share"], where=filters.where(MP), period=b), filters.params(MP))
curve = tool.join(reasoning, on="period", how="left").with_columns(
    pl.col("reasoning_tokens").fill_null(0), pl.col("output_tokens_reporting").fill_null(0)
).sort("period")
# change-point markers: changes of either curve's metric on a selected model x provider (provider_regressions)
changes = pl.concat([changes_in_period(filters, m) for m in ("tool_call_rate", "reasoning_share")]).sort("onset_day")
ui.chart(add_change_markers(build_adoption_figure(curve), changes), curve, "adoption_curves", PAGE)
ui.ignored_note(filters, MP, "reasoning_share_daily")
