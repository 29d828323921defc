"""Users and sessions: active users (daily, weekly, monthly), new users, cost per user with its
heavy tail, sessions and their length. Users are user_hash only (salted hashes; raw ids are
never stored). Reads user_activity_daily and session_summary_daily (app filter only).
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.analytics_figures import build_active_users_figure, build_cost_per_user_figure, build_sessions_figure
from gatewaylens.metrics import metric_sql

PAGE = "users"
APP = ("app",)

data.require("user_activity_daily", "session_summary_daily")
filters = sidebar.current()
where, params = filters.where(APP), filters.params(APP)

st.title("Users and sessions")
ui.period_caption(filters)

tot = data.query(metric_sql(["cost_per_active_user"], where=where), params).row(0, named=True)
ses = data.query(metric_sql(["requests_per_session", "session_coverage"], where=where), params).row(0, named=True)
if not tot["active_users"] and not ses["requests"]:
    st.info("No identified users or sessions match the filters in this period.")
    st.stop()
daily = data.query(
    "SELECT day, sum(active_users) AS active_users, sum(wau) AS wau, sum(mau) AS mau, sum(new_users) AS new_users "
    f"FROM user_activity_daily WHERE {where} GROUP BY day ORDER BY day",
    params,
)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Daily active users (mean)", ui.fmt_count(daily["active_users"].mean()) if daily.height else "n/a")
c2.metric("Monthly active users (last day)", ui.fmt_count(daily["mau"][-1]) if daily.height else "n/a",
          help="distinct users in the 28 days ending on the period's last day (summed over apps)")
c3.metric("New users", ui.fmt_count(tot["new_users"]), help="no request in the app in the 90 days before")
c4.metric("Cost per active user-day", "n/a" if tot["cost_per_active_user"] is None else f"${tot['cost_per_active_user']:,.4f}")
c5.metric("Requests per session", "n/a" if ses["requests_per_session"] is None else f"{ses['requests_per_session']:.1f}",
          help=f"{ui.fmt_pct(ses['session_coverage'])} of requests carry a session id")

ui.chart(build_active_users_figure(daily), daily, "active_users", PAGE)
st.caption("Distinct counts are per app: a user of two apps counts in each.")

apps = data.query(f"SELECT DISTINCT app FROM user_activity_daily WHERE {where} ORDER BY app", params)["app"].to_list()
app = st.selectbox("Cost per user of app", apps, key=f"{PAGE}.app", help="quantiles are per app and day: they do not add up")
cost = data.query(
    "SELECT day, active_users, cost_usd, cost_per_user_p50, cost_per_user_p90, cost_per_user_p99 FROM user_activity_daily "
    "WHERE day BETWEEN $start AND $end AND app = $app ORDER BY day",
    {"start": filters.start, "end": filters.end, "app": app},
)
ui.chart(build_cost_per_user_figure(cost), cost, "cost_per_user", PAGE)

st.subheader("Sessions")
sessions = data.query(
    "SELECT app, sum(sessions) AS sessions, sum(session_requests) AS session_requests, sum(requests) AS requests, "
    "median(requests_per_session_p50) AS requests_per_session_p50, median(requests_per_session_p90) AS requests_per_session_p90, "
    "median(cost_per_session_p50) AS cost_per_session_p50, median(session_minutes_p50) AS session_minutes_p50 "
    f"FROM session_summary_daily WHERE {where} GROUP BY app ORDER BY app",
    params,
)
if sessions["sessions"].sum():
    ui.chart(build_sessions_figure(sessions), sessions, "sessions_by_app", PAGE)
    st.caption("Quantiles are per day; the markers are their median over the period's days. Apps whose gateway does not "
               "log a session id have no sessions.")
else:
    st.info("No request in the selection carries a session id (the sources do not log sessions).")
ui.ignored_note(filters, APP, "user_activity_daily / session_summary_daily")
