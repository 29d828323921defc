"""Providers: pick a model and compare the providers that serve it; provider uptime and failovers.

* Side by side (provider_variance, the trailing window ending at the period's last day):
  tool-call rate with Wilson 95% CI error bars (flagged pairs in red with their p-values), error
  rate, latency p50/p95, TTFT p50, output tokens/s p50; the recommended pool (provider_ranking).
* Uptime heat map provider × hour (provider_uptime_hourly) or × day (provider_uptime_daily), and
  failover counts over time (provider_uptime_daily).
"""

import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.alert_figures import add_change_markers, build_provider_metric_figure
from dashboards.charts.changes import METRIC_COLUMNS, changes_in_period
from dashboards.charts.figures import (
    build_failover_figure,
    build_provider_error_rate_figure,
    build_provider_latency_figure,
    build_provider_throughput_figure,
    build_provider_tool_call_figure,
    build_uptime_heatmap_figure,
)
from dashboards.charts.filters import bucket
from dashboards.charts.text import md
from gatewaylens.metrics import metric_sql

PAGE = "providers"
MP = ("model", "provider")
P = ("provider",)

data.require("provider_variance", "provider_ranking", "provider_uptime_daily", "provider_uptime_hourly")
filters = sidebar.current()

st.title("Providers")
ui.period_caption(filters)

as_of = data.query("SELECT max(day) AS d FROM provider_variance WHERE day <= $end", {"end": filters.end})["d"][0]
if as_of is None:
    st.info("No provider comparison for this period yet (provider_variance has no window ending in it).")
    st.stop()

models = data.query(
    "SELECT model, sum(requests) AS requests, bool_or(flagged OR error_flagged) AS any_flag "
    "FROM provider_variance WHERE day = $as_of "
    "AND (len(CAST($models AS VARCHAR[])) = 0 OR list_contains(CAST($models AS VARCHAR[]), model)) "
    "GROUP BY model HAVING count(*) > 1 AND (len(CAST($providers AS VARCHAR[])) = 0 "
    "OR bool_or(list_contains(CAST($providers AS VARCHAR[]), provider))) ORDER BY any_flag DESC, requests DESC, model",
    {"as_of": as_of, "models": list(filters.models), "providers": list(filters.providers)},
)["model"].to_list()
if not models:
    st.info("No model in the selection is served by more than one provider (one of them selected) in this window.")
    st.stop()
model = st.selectbox("Model", models, key=f"{PAGE}.model", help="models served by two or more providers: those with a flagged provider first, then the busiest")

pv = data.query(
    "SELECT provider, window_start, window_end, requests, successful_requests, tool_call_requests, tool_call_rate, "
    "ci_low, ci_high, reference_providers, other_tool_call_rate, rate_delta, p_value, p_adjusted, flagged, "
    "error_rate, error_rate_delta, error_p_adjusted, error_flagged, latency_p50_ms, latency_p95_ms, ttft_p50_ms, "
    "output_tps_p50 FROM provider_variance WHERE day = $as_of AND model = $model "
    "AND (len(CAST($providers AS VARCHAR[])) = 0 OR list_contains(CAST($providers AS VARCHAR[]), provider)) "
    "ORDER BY provider",
    {"as_of": as_of, "model": model, "providers": list(filters.providers)},
)
if pv.height == 0:
    st.info("None of the selected providers served this model in the window.")
    st.stop()
window = f"{pv['window_start'][0]:%Y-%m-%d} → {pv['window_end'][0]:%Y-%m-%d}"
st.caption(
    f"Trailing window {window} (ending at the period's last day with data). Flagged = Holm-adjusted p-value below "
    "alpha and the rate differs from the model's other providers by more than the practical threshold."
)

flagged = pv.filter(pv["flagged"])
c1, c2, c3 = st.columns(3)
c1.metric("Providers", pv.height)
c2.metric("Flagged providers", flagged.height)
ranking = data.query(
    "SELECT rank, provider, recommended, tool_call_rate, ci_low, ci_high, error_rate, latency_p50_ms, flagged, "
    "error_flagged, successful_requests FROM provider_ranking WHERE day = $as_of AND model = $model ORDER BY rank",
    {"as_of": as_of, "model": model},
)
pool = ranking.filter(ranking["recommended"])["provider"].to_list()
c3.metric("Recommended pool", f"{len(pool)} of {ranking.height}", help="providers a router should use for this model")
st.markdown(
    f"**Recommended pool** for {md(model)}: " + (", ".join(md(p) for p in pool) if pool else "none eligible — fall back to rank 1")
)

tool = pv.select("provider", "requests", "tool_call_rate", "ci_low", "ci_high", "other_tool_call_rate", "rate_delta", "p_value", "p_adjusted", "flagged")
ui.chart(build_provider_tool_call_figure(tool), tool, f"provider_tool_call_rate_{model}", PAGE)
if flagged.height:
    st.warning(
        "Flagged: "
        + "; ".join(
            f"**{md(r['provider'])}** {r['tool_call_rate']:.1%} vs {r['other_tool_call_rate']:.1%} elsewhere "
            f"(Δ {r['rate_delta'] * 100:+.1f} pp, p = {r['p_value']:.2g}, Holm-adjusted {r['p_adjusted']:.2g})"
            for r in flagged.iter_rows(named=True)
        ),
        icon=":material/flag:",
    )

left, right = st.columns(2)
with left:
    err = pv.select("provider", "requests", "error_rate", "error_rate_delta", "error_p_adjusted", pv["error_flagged"].alias("flagged"))
    ui.chart(build_provider_error_rate_figure(err), err, "provider_error_rate", PAGE)
    tps = pv.select("provider", "output_tps_p50")
    ui.chart(build_provider_throughput_figure(tps), tps, "provider_tokens_per_s", PAGE)
with right:
    lat = pv.select("provider", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms")
    ui.chart(build_provider_latency_figure(lat), lat, "provider_latency", PAGE)
    st.markdown("**Router ranking** (1 = most reliable; ✓ = in the recommended pool)")
    st.dataframe(
        ranking.select("rank", "provider", "recommended", "tool_call_rate", "ci_low", "error_rate", "latency_p50_ms"),
        hide_index=True,
        column_config={
            "tool_call_rate": st.column_config.NumberColumn("tool-call rate", format="percent"),
            "ci_low": st.column_config.NumberColumn("CI low", format="percent"),
            "error_rate": st.column_config.NumberColumn("error rate", format="percent"),
            "latency_p50_ms": st.column_config.NumberColumn("latency p50 (ms)", format="%.0f"),
        },
        key=f"{PAGE}.ranking",
    )

st.subheader("Changes against each provider's own history")
if data.has_table("provider_metrics_daily"):
    metric = st.selectbox("Metric", list(METRIC_COLUMNS), key=f"{PAGE}.change_metric")
    value, weight = METRIC_COLUMNS[metric]
    daily = data.query(
        f"SELECT day, provider, {value} AS value, {weight} AS observations FROM provider_metrics_daily "  # allow-listed columns
        f"WHERE {filters.where(P)} AND model = $model ORDER BY day, provider",
        {**filters.params(P), "model": model},
    )
    marks = changes_in_period(filters, metric, model)
    ui.chart(add_change_markers(build_provider_metric_figure(daily, metric), marks), daily,
             f"provider_{metric}_daily", PAGE)
    if marks.height:
        st.dataframe(marks, hide_index=True, key=f"{PAGE}.changes")

st.subheader("Uptime and failover")
grain = st.segmented_control(
    "Heat map by", ["hour", "day"], default="hour" if filters.days <= 31 else "day", key=f"{PAGE}.uptime_grain", required=True
) or "day"
# uptime and failovers come from the metrics layer (gatewaylens.metrics), the ratios defined there once
if grain == "hour":  # the hourly mart's own hour; (hour, provider) may span two days: the sum covers it
    uptime = data.query(metric_sql(["attempt_success_rate_hourly"], by=P, where=filters.where(P), period="hour"),
                        filters.params(P)).rename({"attempt_success_rate_hourly": "attempt_success_rate"})
else:
    uptime = data.query(metric_sql(["attempt_success_rate"], by=P, where=filters.where(P),
                                   period="CAST(day AS TIMESTAMPTZ)"), filters.params(P))
ui.chart(build_uptime_heatmap_figure(uptime), uptime, f"provider_uptime_{grain}ly", PAGE)

failovers = data.query(metric_sql(["failovers", "failover_rate"], by=P, where=filters.where(P), period=bucket(filters.grain)),
                       filters.params(P))
ui.chart(build_failover_figure(failovers), failovers, "provider_failovers", PAGE)
ui.ignored_note(filters, P, "provider_uptime_daily / provider_uptime_hourly")
