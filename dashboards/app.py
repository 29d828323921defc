"""gatewaylens dashboard: the router. Run: streamlit run dashboards/app.py

Pages live in views/; the shared sidebar filters are drawn here (once, for the chart pages) and
read by the views through ``sidebar.current()``. A page whose data is missing shows the friendly
"no data yet" state instead of a traceback.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run` puts only dashboards/ on sys.path
    sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402
import streamlit as st  # noqa: E402

from dashboards.charts import data, sidebar  # noqa: E402
from dashboards.charts.text import md  # noqa: E402

# A local icon file: a ":material/...:" page icon makes the browser fetch the favicon from Google's font CDN.
st.set_page_config(page_title="gatewaylens", page_icon=str(HERE / "static" / "icon.svg"), layout="wide")

V = HERE / "views"
pages = {
    "Adoption": [
        st.Page(V / "overview.py", title="Overview", icon=":material/trending_up:", default=True),
        st.Page(V / "tool_calling.py", title="Tool calling", icon=":material/build:"),
        st.Page(V / "reasoning.py", title="Reasoning", icon=":material/psychology:"),
        st.Page(V / "model_mix.py", title="Model mix", icon=":material/donut_small:"),
    ],
    "Operations": [
        st.Page(V / "providers.py", title="Providers", icon=":material/dns:"),
        st.Page(V / "load.py", title="Load", icon=":material/bolt:"),
        st.Page(V / "alerts.py", title="Alerts", icon=":material/notifications:"),
        st.Page(V / "performance.py", title="Latency, errors & cache", icon=":material/speed:"),
    ],
    "Governance": [
        st.Page(V / "data_policy.py", title="Data policy", icon=":material/policy:"),
        st.Page(V / "lock_in.py", title="Lock-in", icon=":material/lock_open:"),
        st.Page(V / "users.py", title="Users", icon=":material/group:"),
    ],
    "Data": [
        st.Page(V / "data_quality.py", title="Data quality", icon=":material/rule:"),
        st.Page(V / "sql.py", title="SQL", icon=":material/terminal:"),
    ],
}
FILTERED_PAGES = {"Overview", "Tool calling", "Reasoning", "Model mix", "Providers", "Load",
                  "Latency, errors & cache", "Data policy", "Lock-in", "Users"}

page = st.navigation(pages)
try:
    if page.title in FILTERED_PAGES:
        sidebar.render()
    page.run()
except data.DataUnavailable as exc:
    st.info(str(exc), icon=":material/hourglass_empty:")
except (duckdb.CatalogException, duckdb.BinderException) as exc:  # e.g. a mart built by an older version lacks a column
    st.warning(
        "This page could not read its data from the marts. Rebuild them (`gatewaylens build --all`) "
        f"or wait for the nightly run, then reload. DuckDB said: {md(str(exc).splitlines()[0])}",
        icon=":material/warning:",
    )
except duckdb.Error as exc:  # anything else is not about stale marts: say what it is
    st.error(f"This page could not read its data. Reload; if it persists, DuckDB said: {md(str(exc).splitlines()[0])}")
