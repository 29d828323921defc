"""Sidebar filters shared by the chart pages (rendered once by the router, app.py).

Widget keys are namespaced ``filters.*`` and persist for the whole session, so a selection
made on one page holds on every page. Options (models, providers, apps, the day range) come
from ``tool_call_rate_daily``, the mart with all three dimensions; teams and tags from
``app_dimensions_daily``: they keep the apps whose requests carried them (the marts are per app),
and the sidebar says which share of those apps' requests really carried them.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards.charts import data, palette
from dashboards.charts.filters import APP_SCOPE_TABLE, DEFAULT_GRAIN, GRAINS, Filters, default_period

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


def _team_tag_options() -> tuple[list[str], list[str]]:
    """Teams and tags logged in the history (app_dimensions_daily; empty when it is missing)."""
    if not data.has_table(APP_SCOPE_TABLE):
        return [], []
    teams = data.query(f"SELECT DISTINCT team AS v FROM {APP_SCOPE_TABLE} WHERE team IS NOT NULL ORDER BY v")
    tags = data.query(f"SELECT DISTINCT unnest(tags) AS v FROM {APP_SCOPE_TABLE} ORDER BY v")
    return teams["v"].to_list(), [t for t in tags["v"].to_list() if t is not None]


COVERAGE_SQL = f"""
    WITH d AS (SELECT app, requests,
                      (len(CAST($teams AS VARCHAR[])) = 0 OR list_contains(CAST($teams AS VARCHAR[]), team))
                      AND (len(CAST($tags AS VARCHAR[])) = 0 OR coalesce(list_has_any(CAST($tags AS VARCHAR[]), tags), false))
                      AS hit
               FROM {APP_SCOPE_TABLE} WHERE day BETWEEN $start AND $end)
    SELECT count(DISTINCT app) AS apps, coalesce(sum(requests) FILTER (WHERE hit), 0) AS carried,
           coalesce(sum(requests), 0) AS requests
    FROM d WHERE app IN (SELECT app FROM d WHERE hit)
"""


def scope_coverage(filters: Filters) -> tuple[int, int, int]:
    """(apps kept, their requests that carry the team/tag selection, all their requests) in the period."""
    row = data.query(COVERAGE_SQL, {"start": filters.start, "end": filters.end, "teams": list(filters.teams),
                                    "tags": list(filters.tags)}).row(0)
    return int(row[0]), int(row[1]), int(row[2])


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
        teams, tags = _team_tag_options()
        sel_teams = st.multiselect(
            "Teams", teams, key=f"{NS}.teams", persist_state="session", placeholder="all teams",
            help="Keeps the apps whose requests carried one of these teams in the period (charts are per app).",
        ) if teams else []
        sel_tags = st.multiselect(
            "Tags", tags, key=f"{NS}.tags", persist_state="session", placeholder="all tags",
            help="Keeps the apps whose requests carried one of these tags in the period (charts are per app).",
        ) if tags else []
        grain = st.segmented_control(
            "Time grain", list(GRAINS), default=DEFAULT_GRAIN, key=f"{NS}.grain", persist_state="session", required=True
        )
    filters = Filters(
        start=start,
        end=end,
        models=tuple(sel_models),
        providers=tuple(sel_providers),
        apps=tuple(sel_apps),
        grain=grain or DEFAULT_GRAIN,
        teams=tuple(sel_teams),
        tags=tuple(sel_tags),
    )
    with st.sidebar:
        if filters.scoped:
            kept, carried, total = scope_coverage(filters)
            share = f"{carried / total:.0%}" if total else "none"
            st.caption(f"Teams/tags keep {kept} app{'s' if kept != 1 else ''} (whole apps: charts are per app); "
                       f"{share} of their requests in the period carry the selection.")
        st.caption("Empty selection = all. Filters apply to every chart page.")
    st.session_state[CURRENT] = filters
    return filters


def current() -> Filters:
    """The selection made in the sidebar on this run; DataUnavailable when there is no data."""
    filters = st.session_state.get(CURRENT)
    if filters is None:
        raise data.DataUnavailable(data.NO_DATA)
    return filters
