"""Reasoning: reasoning-token share over time by model, with reporting coverage visible.

A request that does not report reasoning tokens is "not reported", never zero: the share is
reasoning_tokens / output_tokens of the requests that report (reported zeros included).
Reads reasoning_share_daily (no app column: the app filter does not apply); change-point markers
from provider_regressions.
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.alert_figures import add_change_markers
from dashboards.charts.changes import changes_in_period
from dashboards.charts.figures import build_reasoning_coverage_figure, build_reasoning_share_figure
from dashboards.charts.filters import bucket
from gatewaylens.metrics import metric_sql

PAGE = "reasoning"
MP = ("model", "provider")

data.require("reasoning_share_daily")
filters = sidebar.current()
where, params = filters.where(MP), filters.params(MP)

st.title("Reasoning")
ui.period_caption(filters)
ui.ignored_note(filters, MP, "reasoning_share_daily")

tot = data.query(metric_sql(["reasoning_share", "reasoning_coverage"], where=where), params).row(0, named=True)
c1, c2, c3 = st.columns(3)
c1.metric("Reasoning share", ui.fmt_pct(tot["reasoning_share"]), help="reporting requests only")
c2.metric("Reporting coverage", ui.fmt_pct(tot["reasoning_coverage"]), help="requests that report reasoning tokens (0 included)")
c3.metric("Reasoning tokens", ui.fmt_count(tot["reasoning_tokens"]))

share = data.query(
    metric_sql(["reasoning_share"], by=("model",), where=where, period=bucket(filters.grain), having_denominator=True), params
)
changes = changes_in_period(filters, "reasoning_share")  # change-point markers (provider_regressions)
ui.chart(add_change_markers(build_reasoning_share_figure(share), changes), share, "reasoning_share_by_model", PAGE)
st.caption("Models that never report reasoning tokens have no line: their share is unknown, not zero.")

coverage = data.query(metric_sql(["reasoning_coverage"], by=("model",), where=where), params).with_columns(
    nonzero_reasoning_requests=pl.col("reporting_requests") - pl.col("zero_reasoning_requests"),
    not_reporting_requests=pl.col("requests") - pl.col("reporting_requests"),
).rename({"reasoning_coverage": "reporting_coverage"})
ui.chart(build_reasoning_coverage_figure(coverage), coverage, "reasoning_coverage_by_model", PAGE)
