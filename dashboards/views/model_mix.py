"""Model mix: request, token and cost share by model and by tier over time (stacked areas), and
per-app multi-model adoption ("frontier plans, small executes").

Shares are computed from cost_daily (which has every filter dimension) within the filtered
traffic; tiers come from model_mix_daily (model_catalog, 'other' when uncatalogued). The per-app
chart reads app_model_mix_daily (app filter only).
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.figures import (
    MIX_MEASURES,
    build_app_mix_figure,
    build_cost_reconciliation_figure,
    build_model_mix_figure,
    build_substitution_figure,
)
from dashboards.charts.filters import bucket
from gatewaylens.metrics import metric_sql

PAGE = "model_mix"
ALL = ("model", "provider", "app")
APP = ("app",)

data.require("cost_daily", "model_mix_daily", "app_model_mix_daily")
filters = sidebar.current()

st.title("Model mix")
ui.period_caption(filters)

measure = st.segmented_control(
    "Share of", list(MIX_MEASURES), default="requests", key=f"{PAGE}.measure", required=True,
    format_func=lambda m: {"requests": "requests", "total_tokens": "tokens", "cost_usd": "cost"}[m],
) or "requests"
assert measure in MIX_MEASURES  # allow-listed column name

for by, label in (("model", "model"), ("model_tier", "tier")):
    mix = data.query(
        f"""
        WITH tiers AS (SELECT model, any_value(model_tier) AS model_tier FROM model_mix_daily GROUP BY model),
        c AS (
            SELECT {bucket(filters.grain)} AS period, model, coalesce(tiers.model_tier, 'other') AS model_tier,
                   requests, input_tokens + output_tokens AS total_tokens, cost_usd
            FROM cost_daily LEFT JOIN tiers USING (model)
            WHERE {filters.where(ALL)}
        )
        SELECT period, {by}, sum({measure}) AS {measure},
               sum({measure}) / nullif(sum(sum({measure})) OVER (PARTITION BY period), 0) AS share
        FROM c GROUP BY period, {by} ORDER BY period, {by}
        """,
        filters.params(ALL),
    )
    ui.chart(build_model_mix_figure(mix, by=by, measure=measure), mix, f"{measure}_share_by_{label}", PAGE)

st.subheader("Multi-model apps")
st.caption(
    "Per app over the period: requests to frontier vs small models, and the small models' share of the "
    "app's tool calls (high = the app plans with a frontier model and executes tool calls with small ones)."
)
apps = data.query(
    "SELECT a.*, m.models_used FROM (" + metric_sql(["small_share_of_tool_calls"], by=("app",), where=filters.where(APP)) + ") a "
    f"JOIN (SELECT app, max(models_used) AS models_used FROM app_model_mix_daily WHERE {filters.where(APP)} GROUP BY app) m "
    "USING (app) ORDER BY app",
    filters.params(APP),
)
ui.chart(build_app_mix_figure(apps), apps, "app_model_mix", PAGE)
ui.ignored_note(filters, APP, "app_model_mix_daily")

present = data.tables()
if "cost_reconciliation_daily" in present:
    st.subheader("Billed vs list price")
    st.caption(
        "Requests that have both a logged cost and a list-price estimate (genai-prices at the request's date): "
        "below 1 = discount, BYOK or a provider cheaper than list; above 1 = mark-up or fees."
    )
    MP = ("model", "provider")
    rec = data.query(metric_sql(["billed_to_list_ratio"], by=MP, where=filters.where(MP)),
                     filters.params(MP)).rename({"billed_to_list_ratio": "ratio"})
    ui.chart(build_cost_reconciliation_figure(rec), rec, "cost_reconciliation", PAGE)
    ui.ignored_note(filters, MP, "cost_reconciliation_daily")
if "model_substitution_daily" in present:
    st.subheader("Requested vs served model")
    MA = ("model", "app")
    by = ("model_requested", "model")
    sub = (data.query(metric_sql(["requested_model_requests"], by=by, where=filters.where(MA), shares=("model_requested",),
                                 order=("requests DESC", *by)), filters.params(MA))
           .rename({"requests_share": "share"}).filter(pl.col("model") != pl.col("model_requested")))
    rate = data.query(metric_sql(["substitution_rate"], where=filters.where(MA)), filters.params(MA)).row(0, named=True)
    if rate["requests"]:
        st.caption(f"{ui.fmt_pct(rate['substitution_rate'])} of the {rate['requests']:,} requests that say which model "
                   "they asked for were served by another one (model fallbacks, router aliases).")
    if sub.height:
        ui.chart(build_substitution_figure(sub), sub, "model_substitution", PAGE)
    else:
        st.caption("No request in the period was served by another model than it asked for "
                   "(or the sources do not report the requested model).")
    ui.ignored_note(filters, MA, "model_substitution_daily")
