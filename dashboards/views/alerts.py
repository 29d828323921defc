"""Alerts: open and recent alerts (table `alerts`), the evidence of the one picked, and the chart
that shows it — for a provider regression the pair's daily metric with its baseline, onset and
detection day (provider_metrics_daily); a link to the page with the wider picture. Every name
from the data is shown as text (dataframes, st.text, st.json), never as markdown or HTML."""

import datetime as dt
import json

import streamlit as st

from dashboards.charts import data, ui
from dashboards.charts.alert_figures import build_change_series_figure
from dashboards.charts.changes import METRIC_COLUMNS

PAGE = "alerts"
KIND_PAGE = {  # where the wider picture of each kind lives (fixed allow-list)
    "provider_regression": ("views/providers.py", "Providers: the model's providers side by side"),
    "usage_anomaly": ("views/model_mix.py", "Model mix: requests, tokens and cost by app and model"),
    "budget_runway": ("views/model_mix.py", "Model mix: cost by app"),
}

data.require("alerts")
st.title("Alerts")
st.caption(
    "Opened once, updated while the condition holds, resolved when it no longer does, reopened on relapse. "
    "Sources: provider_regressions (a provider changed against its own history), usage_anomalies_daily "
    "(volume or spend outside its weekday-aware interval) and spend_forecast (budget runs out this month). "
    "`gatewaylens alerts send` and the Dagster sensor deliver each state change once."
)

recent_days = st.slider("Resolved in the last (days)", 0, 90, 14, key=f"{PAGE}.recent")
rows = data.query(
    "SELECT alert_id, severity, kind, subject, opened_at, last_seen_at, resolved_at, reopened_count, summary, "
    "CAST(evidence AS VARCHAR) AS evidence FROM alerts "
    "WHERE resolved_at IS NULL OR resolved_at >= now() - to_days(CAST($recent AS INTEGER)) "
    "ORDER BY resolved_at IS NOT NULL, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
    "last_seen_at DESC, alert_id",
    {"recent": recent_days},
)
open_rows = rows.filter(rows["resolved_at"].is_null())
c1, c2, c3 = st.columns(3)
c1.metric("Open", open_rows.height)
c2.metric("Critical", open_rows.filter(open_rows["severity"] == "critical").height)
c3.metric("Resolved (shown)", rows.height - open_rows.height)
if rows.height == 0:
    st.info("No open or recent alerts.")
    st.stop()

st.dataframe(
    rows.drop("evidence", "alert_id"),
    hide_index=True,
    key=f"{PAGE}.table",
    column_config={"summary": st.column_config.TextColumn("summary", width="large")},
)

labels = [f"[{r['severity']}] {r['subject']}" + (" (resolved)" if r["resolved_at"] else "") for r in rows.iter_rows(named=True)]
pick = st.selectbox("Evidence of", range(rows.height), format_func=lambda i: labels[i], key=f"{PAGE}.pick")
alert = rows.row(pick, named=True)
evidence = json.loads(alert["evidence"]) if alert["evidence"] else {}
st.text(alert["summary"])
target, label = KIND_PAGE[alert["kind"]]
st.page_link(target, label=label, icon=":material/open_in_new:")

if alert["kind"] == "provider_regression" and evidence.get("metric") in METRIC_COLUMNS and data.has_table("provider_metrics_daily"):
    value, weight = METRIC_COLUMNS[evidence["metric"]]
    onset = dt.date.fromisoformat(evidence["onset_day"])
    series = data.query(
        f"SELECT day, {value} AS value, {weight} AS observations FROM provider_metrics_daily "  # columns from the allow-list
        "WHERE model = $model AND provider = $provider AND day BETWEEN $a AND $b ORDER BY day",
        {"model": evidence["model"], "provider": evidence["provider"],
         "a": onset - dt.timedelta(days=42), "b": onset + dt.timedelta(days=42)},
    )
    change = {**evidence, "onset_day": onset, "detected_day": dt.date.fromisoformat(evidence["detected_day"])}
    ui.chart(build_change_series_figure(series, change), series, f"alert_{alert['alert_id']}", PAGE)
st.json(evidence, expanded=False)
