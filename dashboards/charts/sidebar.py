"""Sidebar filters shared by the chart pages (rendered once by the router, app.py).

Widget keys are namespaced ``filters.*`` and persist for the whole session, so a selection
made on one page holds on every page. Options (models, providers, apps, the day range) come
from ``tool_call_rate_daily``, the mart with all three dimensions.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards.charts import data, palette
from dashboards.charts.filters import DEFAULT_GRAIN, GRAINS, Filters, default_period

NS = "filters"
CURRENT = f"{NS}.current"  # the Filters value the views read


def _options() -> tuple[dt.date, dt.date, list[str], list[str], list[str]] | None:
    if not data.has_table("tool_call_rate_daily"):
        return None
    bounds = data.query("SELECT min(day) AS first, max(day) AS last FROM tool_call_rate_daily")
    if bounds.height == 0 or bounds["first"][0] is None:
        return None
    dims = {
        dim: data.query(f"SELECT DISTINCT {dim} AS v FROM tool_call_rate_daily ORDER BY v")["v"].to_list()
        for dim in ("model", "provider", "app")  # fixed identifiers
    }
    palette.register_apps(dims["app"])
    return bounds["first"][0], bounds["last"][0], dims["model"], dims["provider"], dims["app"]


def render() -> Filters | None:
    """Draw the filters in the sidebar and return the selection (None when there is no data)."""
    st.session_state.pop(CURRENT, None)
    opts = _options()
    if opts is None:
        return None
    first, last, models, providers, apps = opts
    with st.sidebar:
        st.header("Filters")
        key = f"{NS}.period"
        if key in st.session_state:  # clamp a remembered period to the data actually there
            value = st.session_state[key]
            if isinstance(value, tuple | list) and value and (value[0] < first or value[-1] > last):
                del st.session_state[key]
        period = st.date_input(
            "Period (UTC days)",
            value=default_period(first, last),
            min_value=first,
            max_value=last,
            key=key,
            persist_state="session",
            help="KPI deltas compare with the period of equal length just before it.",
        )
        if isinstance(period, tuple | list):
            start, end = (period[0], period[-1]) if period else default_period(first, last)
        elif isinstance(period, dt.date):
            start = end = period
        else:
            start, end = default_period(first, last)
        sel_models = st.multiselect("Models", models, key=f"{NS}.models", persist_state="session", placeholder="all models")
        sel_providers = st.multiselect(
            "Providers", providers, key=f"{NS}.providers", persist_state="session", placeholder="all providers"
        )
        sel_apps = st.multiselect("Apps", apps, key=f"{NS}.apps", persist_state="session", placeholder="all apps")
        grain = st.segmented_control(
            "Time grain", list(GRAINS), default=DEFAULT_GRAIN, key=f"{NS}.grain", persist_state="session", required=True
        )
        st.caption("Empty selection = all. Filters apply to every chart page.")
    filters = Filters(
        start=start,
        end=end,
        models=tuple(sel_models),
        providers=tuple(sel_providers),
        apps=tuple(sel_apps),
        grain=grain or DEFAULT_GRAIN,
    )
    st.session_state[CURRENT] = filters
    return filters


def current() -> Filters:
    """The selection made in the sidebar on this run; DataUnavailable when there is no data."""
    filters = st.session_state.get(CURRENT)
    if filters is None:
        raise data.DataUnavailable(data.NO_DATA)
    return filters
