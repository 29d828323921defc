"""Layout helpers shared by the views (Streamlit): a chart with its CSV, KPI deltas, notes."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards.charts.filters import Filters
from dashboards.charts.text import safe_figure
from gatewaylens.results import csv_text

# No MathJax, no topojson from a CDN: the dashboard makes no request outside its own host.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "typesetMath": False, "topojsonURL": "/app/static/"}
_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(name: str) -> str:
    """A download file name from ``name`` (which may carry a model name): letters, digits, . _ - only."""
    return _FILE_NAME_UNSAFE.sub("_", name).strip("._") or "data"


def plot(fig: go.Figure, key: str) -> None:
    """Draw a figure with every name from the data escaped (the one way figures reach the page)."""
    st.plotly_chart(safe_figure(fig), key=key, config=PLOTLY_CONFIG)


def chart(fig: go.Figure, frame: pl.DataFrame, name: str, page: str) -> None:
    """Draw a figure and offer exactly the frame it draws as CSV (``<name>.csv``)."""
    name = file_name(name)
    plot(fig, f"{page}.{name}.chart")
    st.download_button(
        "Download CSV",
        csv_text(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{page}.{name}.csv",
        on_click="ignore",
        icon=":material/download:",
        help=f"The {frame.height:,} rows this chart draws",
    )


def period_caption(filters: Filters) -> None:
    st.caption(
        f"{filters.start:%Y-%m-%d} → {filters.end:%Y-%m-%d} ({filters.days} days, UTC) · grain: {filters.grain}"
    )


def ignored_note(filters: Filters, dims: tuple[str, ...], table: str) -> None:
    """Say when a selected filter cannot apply to a chart because its mart lacks that column."""
    ignored = filters.ignored(dims)
    if ignored:
        st.caption(f"Note: `{table}` has no {' / '.join(ignored)} column; that filter does not apply to this chart.")


def ratio(num: float | int | None, den: float | int | None) -> float | None:
    if num is None or not den:
        return None
    return float(num) / float(den)


def pct_delta(cur: float | None, prev: float | None) -> str | None:
    """Relative change of a count/amount, e.g. '+12.3%' (None when there is no previous value)."""
    if cur is None or not prev:
        return None
    return f"{(cur - prev) / prev:+.1%}"


def pp_delta(cur: float | None, prev: float | None) -> str | None:
    """Change of a rate in percentage points, e.g. '+1.2 pp'."""
    if cur is None or prev is None:
        return None
    return f"{(cur - prev) * 100:+.1f} pp"


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def fmt_count(x: float | int | None) -> str:
    if x is None:
        return "n/a"
    x = float(x)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:,.2f}{unit}"
    return f"{x:,.0f}"
