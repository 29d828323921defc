"""Data policy: what share of our tokens went to providers that retain prompts, train on them,
offer zero data retention, or process them outside the EU — over time and per app — and which
requests went to providers whose policy is unknown.

Reads policy_exposure_daily (provider catalogue attributes copied per day; app and provider
filters apply, the model filter does not) and provider_catalog (the catalogue itself, with the
source of every row). The catalogue is a starting point compiled from published policies:
review it against your own contracts.
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, sidebar, ui
from dashboards.charts.analytics_figures import build_policy_by_app_figure, build_policy_share_figure
from dashboards.charts.filters import bucket
from gatewaylens.metrics import POLICY_ATTRIBUTES, metric_sql
from gatewaylens.results import csv_text

PAGE = "data_policy"
PA = ("provider", "app")
LABELS = {
    "retains_prompts": "retains prompts", "trains_on_prompts": "trains on prompts", "zdr_available": "zero data retention available",
    "jurisdiction": "jurisdiction", "gpu_ownership": "GPU ownership", "confidential_compute": "confidential compute",
    "quantization_disclosed": "quantization disclosed",
}

data.require("policy_exposure_daily", "provider_catalog")
filters = sidebar.current()
where, params = filters.where(PA), filters.params(PA)

st.title("Data policy")
ui.period_caption(filters)
st.caption(
    "Where prompts went, by what each provider publishes about them. The provider catalogue is a **starting point** "
    "compiled from the providers' published policies (source and date below): review it against your contracts — "
    "a zero-data-retention agreement or a regional endpoint changes the answer for your traffic."
)

exposure = data.query(
    "SELECT sum(input_tokens + output_tokens) AS tokens, "
    "sum(input_tokens + output_tokens) FILTER (WHERE retains_prompts IN ('yes', 'varies')) AS retained, "
    "sum(input_tokens + output_tokens) FILTER (WHERE trains_on_prompts IN ('yes', 'varies')) AS trained, "
    "sum(input_tokens + output_tokens) FILTER (WHERE jurisdiction <> 'EU') AS outside_eu, "
    "sum(input_tokens + output_tokens) FILTER (WHERE NOT policy_known OR retains_prompts = 'unknown') AS unknown "
    f"FROM policy_exposure_daily WHERE {where}",
    params,
).row(0, named=True)
if not exposure["tokens"]:
    st.info("No traffic matches the filters in this period.")
    st.stop()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Tokens to providers that retain prompts", ui.fmt_pct(ui.ratio(exposure["retained"], exposure["tokens"])),
          help="retains_prompts = yes or varies (by default, e.g. abuse-monitoring logs)")
c2.metric("Tokens to providers that may train on them", ui.fmt_pct(ui.ratio(exposure["trained"], exposure["tokens"])),
          help="trains_on_prompts = yes or varies")
c3.metric("Tokens processed outside the EU (or anywhere)", ui.fmt_pct(ui.ratio(exposure["outside_eu"], exposure["tokens"])),
          help="jurisdiction other than EU: US, CN, GLOBAL, a customer-chosen cloud REGION (check yours) or unknown")
c4.metric("Tokens with unknown policy", ui.fmt_pct(ui.ratio(exposure["unknown"], exposure["tokens"])),
          help="provider not in the catalogue, or its retention is not published")

attribute = st.segmented_control(
    "Attribute", list(POLICY_ATTRIBUTES), default="retains_prompts", key=f"{PAGE}.attribute", required=True,
    format_func=LABELS.get,
) or "retains_prompts"
assert attribute in POLICY_ATTRIBUTES  # allow-listed column name

over_time = data.query(
    metric_sql(["policy_tokens"], by=(attribute,), where=where, period=bucket(filters.grain), shares=True),
    params,
).rename({attribute: "value"})
ui.chart(build_policy_share_figure(over_time, attribute), over_time, f"token_share_by_{attribute}", PAGE)

by_app = data.query(
    metric_sql(["policy_tokens"], by=("app", attribute), where=where, shares=("app",)), params
).rename({attribute: "value"})
ui.chart(build_policy_by_app_figure(by_app, attribute), by_app, f"app_token_share_by_{attribute}", PAGE)
ui.ignored_note(filters, PA, "policy_exposure_daily")

st.subheader("Requests to providers with unknown policy")
unknown = data.query(
    "SELECT provider, policy_known, retains_prompts, trains_on_prompts, sum(requests) AS requests, "
    "sum(input_tokens + output_tokens) AS tokens, string_agg(DISTINCT app, ', ' ORDER BY app) AS apps "
    f"FROM policy_exposure_daily WHERE {where} AND (NOT policy_known OR retains_prompts = 'unknown' "
    "OR trains_on_prompts = 'unknown') GROUP BY ALL ORDER BY requests DESC, provider",
    params,
)
if unknown.height:
    st.dataframe(unknown, hide_index=True, key=f"{PAGE}.unknown")
    st.download_button("Download CSV", csv_text(unknown), file_name="unknown_policy_providers.csv", mime="text/csv",
                       key=f"{PAGE}.unknown.csv", on_click="ignore", icon=":material/download:")
else:
    st.success("Every provider in the selection has a published retention and training policy in the catalogue.")

st.subheader("Provider catalogue")
catalogue = data.query("SELECT * FROM provider_catalog ORDER BY provider")
st.dataframe(
    catalogue, hide_index=True, key=f"{PAGE}.catalogue",
    column_config={"source_url": st.column_config.LinkColumn("source"), "notes": st.column_config.TextColumn("notes", width="large")},
)
st.caption(
    "Packaged in `src/gatewaylens/data/providers.csv`; set `GATEWAYLENS_PROVIDERS` to a CSV with the same columns to "
    "extend or override rows (then rebuild the marts). `unknown` = not published (or not found)."
)
