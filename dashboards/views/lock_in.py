"""Lock-in: how concentrated each app is on one vendor or provider, which traffic has no second
provider to fail over to, who switched models and when, and how fast apps try new models.

Reads vendor_concentration_monthly and model_switches (monthly: the months overlapping the
period; app filter only) and model_adoption_lag (apps and models first used in the period).
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from gatewaylens.metrics import metric_sql
from dashboards.charts.analytics_figures import (
    build_adoption_lag_figure,
    build_hhi_figure,
    build_optionality_figure,
    build_switches_figure,
)

PAGE = "lock_in"
APP = ("app",)
AM = ("app", "model")

data.require("vendor_concentration_monthly", "model_switches", "model_adoption_lag")
filters = sidebar.current()
months = filters.where(APP, day="month")  # monthly marts: the months overlapping the period
params = filters.params(APP)

st.title("Lock-in and optionality")
ui.period_caption(filters)
st.caption(
    "Concentration = Herfindahl-Hirschman index of token shares (1 = everything on one vendor). Single-provider "
    "tokens have no failover: only one provider served that model to the app that month."
)

conc = data.query(
    "SELECT day, app, requests, total_tokens, models_used, vendors_used, providers_used, vendor_hhi, provider_hhi, "
    "top_vendor, top_vendor_share, single_provider_tokens, single_provider_share, failover_covered_requests, "
    f"failover_coverage FROM vendor_concentration_monthly WHERE {months} ORDER BY day, app",
    params,
)
if conc.height == 0:
    st.info("No traffic matches the filters in this period.")
    st.stop()
last = conc.filter(pl.col("day") == conc["day"].max())
OPTIONALITY = ["single_provider_share", "failover_coverage"]
totals = data.query(metric_sql(OPTIONALITY, where=months), params).row(0, named=True)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Apps on one vendor (last month)", f"{last.filter(pl.col('vendors_used') == 1).height} of {last.height}")
c2.metric("Median vendor HHI (last month)", f"{last['vendor_hhi'].median():.2f}" if last.height else "n/a",
          help="1 = one vendor; 0.5 = two vendors with equal shares")
c3.metric("Tokens on single-provider models", ui.fmt_pct(totals["single_provider_share"]))
c4.metric("Requests with failover coverage", ui.fmt_pct(totals["failover_coverage"]),
          help="the model had at least two providers in the gateway that day")

hhi = conc.select("day", "app", "vendor_hhi", "top_vendor", "top_vendor_share", "vendors_used")
ui.chart(build_hhi_figure(hhi), hhi, "vendor_concentration", PAGE)

option = data.query(metric_sql(OPTIONALITY, by=APP, where=months), params)
ui.chart(build_optionality_figure(option), option, "optionality_by_app", PAGE)

st.subheader("Model switches")
switches = data.query(
    "SELECT day, app, from_model, to_model, share_before, share_after, from_model_share_after, to_model_share_before "
    f"FROM model_switches WHERE {months} AND switched ORDER BY day, app",
    params,
)
if switches.height:
    ui.chart(build_switches_figure(switches), switches, "model_switches", PAGE)
else:
    st.info("No app changed its top model in these months.")

st.subheader("Adoption lag")
lag = data.query(
    "SELECT app, model, first_seen_in_gateway, first_used_by_app, lag_days, adoption_rank "
    f"FROM model_adoption_lag WHERE {filters.where(AM)} AND NOT present_at_start ORDER BY model, adoption_rank, app",
    filters.params(AM),
)
if lag.height:
    ui.chart(build_adoption_lag_figure(lag), lag, "model_adoption_lag", PAGE)
    st.caption("Models already in use on the first day of data are left out: their first appearance is not observed.")
else:
    st.info("No model appeared in the gateway during this period (models in use from the first day are left out).")
ui.ignored_note(filters, AM, "vendor_concentration_monthly / model_adoption_lag")
