"""Reasoning: reasoning-token share over time by model, with reporting coverage visible.

A request that does not report reasoning tokens is "not reported", never zero: the share is
reasoning_tokens / output_tokens of the requests that report (reported zeros included).
Reads reasoning_share_daily (no app column: the app filter does not apply).
"""

import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.figures import build_reasoning_coverage_figure, build_reasoning_share_figure
from dashboards.charts.filters import bucket

PAGE = "reasoning"
MP = ("model", "provider")

data.require("reasoning_share_daily")
filters = sidebar.current()
where, params = filters.where(MP), filters.params(MP)

st.title("Reasoning")
ui.period_caption(filters)
ui.ignored_note(filters, MP, "reasoning_share_daily")

tot = data.query(
    "SELECT sum(requests) AS requests, sum(reporting_requests) AS reporting, sum(reasoning_tokens) AS reasoning, "
    f"sum(output_tokens_reporting) AS out_rep FROM reasoning_share_daily WHERE {where}",
    params,
).row(0, named=True)
c1, c2, c3 = st.columns(3)
c1.metric("Reasoning share", ui.fmt_pct(ui.ratio(tot["reasoning"], tot["out_rep"])), help="reporting requests only")
c2.metric("Reporting coverage", ui.fmt_pct(ui.ratio(tot["reporting"], tot["requests"])), help="requests that report reasoning tokens (0 included)")
c3.metric("Reasoning tokens", ui.fmt_count(tot["reasoning"]))

share = data.query(
    f"SELECT {bucket(filters.grain)} AS period, model, sum(reasoning_tokens) AS reasoning_tokens, "
    "sum(output_tokens_reporting) AS output_tokens_reporting, "
    "sum(reasoning_tokens) / nullif(sum(output_tokens_reporting), 0) AS reasoning_share "
    f"FROM reasoning_share_daily WHERE {where} GROUP BY ALL HAVING sum(reporting_requests) > 0 ORDER BY period, model",
    params,
)
ui.chart(build_reasoning_share_figure(share), share, "reasoning_share_by_model", PAGE)
st.caption("Models that never report reasoning tokens have no line: their share is unknown, not zero.")

coverage = data.query(
    "SELECT model, sum(requests) AS requests, sum(reporting_requests) AS reporting_requests, "
    "sum(reporting_requests) - sum(zero_reasoning_requests) AS nonzero_reasoning_requests, "
    "sum(zero_reasoning_requests) AS zero_reasoning_requests, "
    "sum(requests) - sum(reporting_requests) AS not_reporting_requests, "
    "sum(reporting_requests) / nullif(sum(requests), 0) AS reporting_coverage "
    f"FROM reasoning_share_daily WHERE {where} GROUP BY ALL ORDER BY model",
    params,
)
ui.chart(build_reasoning_coverage_figure(coverage), coverage, "reasoning_coverage_by_model", PAGE)
