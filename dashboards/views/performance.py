"""Latency, errors and cache: the tails beyond p95, the errors users saw by class, the failures
they never saw (rescued by a failover), and what prompt caching saves.

Reads latency_daily and cache_daily (model, provider and app filters apply), errors_daily and
tool_call_rate_daily (model and provider), provider_uptime_hourly (provider).
"""

import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.analytics_figures import (
    build_cache_savings_figure,
    build_errors_figure,
    build_latency_tail_figure,
    build_rate_lines_figure,
)
from dashboards.charts.filters import bucket
from gatewaylens.metrics import metric_sql

PAGE = "performance"
ALL = ("model", "provider", "app")
MP = ("model", "provider")
P = ("provider",)
BY = {"provider": "provider", "model": "model"}

data.require("latency_daily", "cache_daily", "errors_daily", "tool_call_rate_daily", "provider_uptime_hourly")
filters = sidebar.current()
b = bucket(filters.grain)

st.title("Latency, errors and cache")
ui.period_caption(filters)

cache = data.query(metric_sql(["cache_hit_rate"], where=filters.where(ALL)), filters.params(ALL)).row(0, named=True)
errs = data.query(metric_sql(["errors"], where=filters.where(MP)), filters.params(MP)).row(0, named=True)
reqs = data.query(metric_sql(["requests"], where=filters.where(MP)), filters.params(MP)).row(0, named=True)
rescued = data.query(metric_sql(["rescued_rate"], where=filters.where(P)), filters.params(P)).row(0, named=True)
if not reqs["requests"]:
    st.info("No requests match the filters in this period.")
    st.stop()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Error rate", ui.fmt_pct(ui.ratio(errs["errors"], reqs["requests"])), help="failed requests / requests (what users saw)")
c2.metric("Rescued failures", ui.fmt_pct(rescued["rescued_rate"]),
          help="failed provider attempts whose request still succeeded at another provider")
c3.metric("Cache hit rate", ui.fmt_pct(cache["cache_hit_rate"]), help="cached prompt tokens / prompt tokens where caching is reported")
c4.metric("Cache savings", "n/a" if cache["savings_usd"] is None else f"${cache['savings_usd']:,.2f}",
          help="net, at list price: what cached reads saved against uncached input minus what cache writes cost above it "
               "(Anthropic bills writes at 1.25x input)")

st.subheader("Latency tails")
by = BY[st.segmented_control("Compare by", list(BY), default="provider", key=f"{PAGE}.by", required=True) or "provider"]
tails = data.query(
    f"SELECT {by}, sum(requests) AS requests, median(latency_p50_ms) AS latency_p50_ms, median(latency_p90_ms) AS latency_p90_ms, "
    "median(latency_p95_ms) AS latency_p95_ms, median(latency_p99_ms) AS latency_p99_ms, median(ttft_p50_ms) AS ttft_p50_ms, "
    "median(ttft_p99_ms) AS ttft_p99_ms, median(tpot_p50_ms) AS tpot_p50_ms, median(output_tps_p50) AS output_tps_p50 "
    f"FROM latency_daily WHERE {filters.where(ALL)} GROUP BY {by} ORDER BY {by}",
    filters.params(ALL),
)
ui.chart(build_latency_tail_figure(tails, key=by), tails, f"latency_tails_by_{by}", PAGE)
st.caption("Each day's quantiles are over that day's successful requests of a (model, provider, app); the bars are their "
           "median over days and slices. Time per output token and tokens/s are in the CSV.")

st.subheader("Errors")
left, right = st.columns(2)
with left:
    errors = data.query(metric_sql(["errors"], by=("error_type",), where=filters.where(MP), period=b), filters.params(MP))
    ui.chart(build_errors_figure(errors), errors, "errors_by_class", PAGE)
with right:
    rescue = data.query(
        metric_sql(["rescued_rate"], by=("provider",), where=filters.where(P), period=b),
        filters.params(P),
    )
    ui.chart(build_rate_lines_figure(rescue, "provider", "rescued_rate", "failovers_out", "failed_attempts",
                                     "Rescued rate: failed attempts the user never saw (failover succeeded)", "rescued (%)"),
             rescue, "rescued_rate_by_provider", PAGE)

st.subheader("Prompt cache")
left, right = st.columns(2)
with left:
    hit = data.query(metric_sql(["cache_hit_rate"], by=("provider",), where=filters.where(ALL), period=b, having_denominator=True),
                     filters.params(ALL))
    ui.chart(build_rate_lines_figure(hit, "provider", "cache_hit_rate", "cached_tokens", "input_tokens_reporting",
                                     "Cache hit rate by provider (cached / prompt tokens, reporting providers)", "hit rate (%)"),
             hit, "cache_hit_rate_by_provider", PAGE)
with right:
    savings = data.query(metric_sql(["cache_hit_rate"], by=("model",), where=filters.where(ALL), order=("savings_usd DESC NULLS LAST", "model")),
                         filters.params(ALL))
    ui.chart(build_cache_savings_figure(savings), savings, "cache_savings_by_model", PAGE)
ui.ignored_note(filters, MP, "errors_daily")
