"""Layout helpers shared by the views (Streamlit): a chart with its CSV, KPI deltas, notes."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards.charts.filters import Filters

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def chart(fig: go.Figure, frame: pl.DataFrame, name: str, page: str) -> None:
    """Draw a figure and offer exactly the frame it draws as CSV (``<name>.csv``)."""
    st.plotly_chart(fig, key=f"{page}.{name}.chart", config=PLOTLY_CONFIG)
    st.download_button(
        "Download CSV",
        frame.write_csv(),
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
