"""Tool calling: the tool-call rate over time by model and by provider, the when-offered rate
beside the headline rate, and the apps with the most tool calls. Reads tool_call_rate_daily."""

import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.alert_figures import add_change_markers
from dashboards.charts.changes import changes_in_period
from dashboards.charts.figures import build_top_apps_figure, build_tool_call_rate_figure, build_when_offered_figure
from dashboards.charts.filters import bucket
from gatewaylens.metrics import metric_sql

PAGE = "tool_calling"
ALL = ("model", "provider", "app")
BY = {"model": "model", "provider": "provider"}  # allow-list of grouping columns

data.require("tool_call_rate_daily")
filters = sidebar.current()
where, params = filters.where(ALL), filters.params(ALL)

st.title("Tool calling")
ui.period_caption(filters)
st.caption(
    "Headline rate = successful requests that end in a tool call / successful requests. "
    "When-offered rate = the same, among successful requests that offered tools (fair across providers)."
)

tot = data.query(metric_sql(["tool_call_rate", "tool_call_rate_when_offered"], where=where), params).row(0, named=True)
c1, c2, c3 = st.columns(3)
c1.metric("Tool-call requests", ui.fmt_count(tot["tool_call_requests"]))
c2.metric("Tool-call rate", ui.fmt_pct(tot["tool_call_rate"]))
c3.metric("Rate when tools offered", ui.fmt_pct(tot["tool_call_rate_when_offered"]))

by = BY[st.segmented_control("Lines by", list(BY), default="model", key=f"{PAGE}.by", required=True) or "model"]
over_time = data.query(metric_sql(["tool_call_rate"], by=(by,), where=where, period=bucket(filters.grain)), params)
changes = changes_in_period(filters, "tool_call_rate")  # change-point markers (provider_regressions)
ui.chart(add_change_markers(build_tool_call_rate_figure(over_time, by=by), changes), over_time, f"tool_call_rate_by_{by}", PAGE)

left, right = st.columns(2)
with left:
    offered = data.query(metric_sql(["tool_call_rate", "tool_call_rate_when_offered"], by=("model",), where=where), params)
    ui.chart(build_when_offered_figure(offered), offered, "tool_call_rate_when_offered", PAGE)
with right:
    top = data.query(
        metric_sql(["tool_call_rate"], by=("app",), where=where, order=("tool_call_requests DESC", "app")) + " LIMIT 15", params
    )
    ui.chart(build_top_apps_figure(top), top, "top_apps_by_tool_calls", PAGE)
