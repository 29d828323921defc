"""Load: when does the traffic come? Hour-of-day × day heat map (load_hourly, app filter applies),
peak-to-mean per day and the share of traffic in the batch window (load_profile_daily, whole
traffic: model/provider/app filters do not apply)."""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from gatewaylens.metrics import metric_sql
from dashboards.charts.figures import build_batch_share_figure, build_load_heatmap_figure, build_peak_to_mean_figure

PAGE = "load"
APP = ("app",)

data.require("load_hourly", "load_profile_daily")
filters = sidebar.current()

st.title("Load")
ui.period_caption(filters)

heat = data.query(
    "SELECT day, CAST(hour(hour) AS INTEGER) AS hour_of_day, sum(requests) AS requests, "
    "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens "
    f"FROM load_hourly WHERE {filters.where(APP)} GROUP BY ALL ORDER BY day, hour_of_day",
    filters.params(APP),
)
profile = data.query(
    "SELECT day, requests, peak_hour, peak_hour_requests, mean_hour_requests, peak_to_mean, "
    "batch_window_start_hour, batch_window_end_hour, batch_window_requests, batch_window_share "
    "FROM load_profile_daily WHERE day BETWEEN $start AND $end ORDER BY day",
    {"start": filters.start, "end": filters.end},
)

c1, c2, c3 = st.columns(3)
busiest = heat.group_by("hour_of_day").agg(pl.col("requests").sum()).sort("requests", descending=True) if heat.height else heat
c1.metric("Busiest hour of day (UTC)", f"{busiest['hour_of_day'][0]:02d}:00" if heat.height else "n/a")
c2.metric("Median peak-to-mean", f"{profile['peak_to_mean'].median():.2f}×" if profile.height else "n/a")
if profile.height:
    share = data.query(metric_sql(["batch_window_share"], where="day BETWEEN $start AND $end"),
                       {"start": filters.start, "end": filters.end})["batch_window_share"][0] or 0.0
    window = f"{profile['batch_window_start_hour'][0]:02d}:00–{profile['batch_window_end_hour'][0]:02d}:00 UTC"
    c3.metric("Traffic in batch window", f"{share:.1%}", help=f"batch window {window}")
else:
    c3.metric("Traffic in batch window", "n/a")

ui.chart(build_load_heatmap_figure(heat), heat, "load_heatmap", PAGE)
ui.ignored_note(filters, APP, "load_hourly")
left, right = st.columns(2)
with left:
    ptm = profile.select("day", "peak_hour", "peak_hour_requests", "mean_hour_requests", "peak_to_mean")
    ui.chart(build_peak_to_mean_figure(ptm), ptm, "peak_to_mean_daily", PAGE)
with right:
    bws = profile.select("day", "batch_window_start_hour", "batch_window_end_hour", "batch_window_requests", "requests", "batch_window_share")
    ui.chart(build_batch_share_figure(bws), bws, "batch_window_share_daily", PAGE)
if filters.models or filters.providers or filters.apps:
    st.caption("Note: `load_profile_daily` describes the whole traffic; the model/provider/app filters do not apply to the two charts above.")
