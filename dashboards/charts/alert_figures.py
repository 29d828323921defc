"""Figure builders of the Alerts page and the change-point markers other pages add. Pure (no I/O,
no Streamlit). Names from the data go in raw as data and trace names (``ui.chart`` escapes them
with ``text.safe_figure``); a name composed into a title goes through ``text.plotly_text``."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl

from dashboards.charts.palette import FLAGGED, color_for
from dashboards.charts.text import plotly_text

ONSET_DASH = "dash"
DETECTED_DASH = "dot"


def add_change_markers(fig: go.Figure, changes: pl.DataFrame, label: str = "provider") -> go.Figure:
    """Vertical change-point markers: one dashed line per change at its onset_day (hover: what
    changed). ``changes`` columns: onset_day, model, provider, metric, direction, attribution."""
    if changes.height == 0:
        return fig
    xs, texts = [], []
    for r in changes.iter_rows(named=True):
        x = dt.datetime.combine(r["onset_day"], dt.time(), tzinfo=dt.timezone.utc)
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", xref="x",
                      line={"color": FLAGGED, "width": 1, "dash": ONSET_DASH})
        xs.append(x)
        texts.append(f"change from {r['onset_day']:%Y-%m-%d}: {r['metric']} {r['direction']} on {r['model']} @ "
                     f"{r['provider']} (attribution: {r['attribution']})")
    top = _top(fig)  # markers sit at the top of the drawn values
    fig.add_trace(go.Scatter(
        x=xs, y=[top] * len(xs), mode="markers", name="change onset",
        marker={"symbol": "triangle-down", "size": 10, "color": FLAGGED},
        text=texts, hovertemplate="%{text}<extra></extra>", cliponaxis=False,
    ))
    return fig


def _top(fig: go.Figure) -> float:
    top = 0.0
    for tr in fig.data:
        ys = [y for y in (tr.y or []) if isinstance(y, (int, float))]
        if ys:
            top = max(top, max(ys))
    return top


def build_change_series_figure(series: pl.DataFrame, change: dict) -> go.Figure:
    """The daily values of one pair-metric with its baseline band and the change's onset and
    detection days. ``series`` columns: day, value, observations. ``change``: a
    provider_regressions row (model, provider, metric, onset_day, detected_day, baseline_value,
    baseline_low, baseline_high, current_value)."""
    fig = go.Figure()
    name = f"{change['model']} @ {change['provider']}"
    fig.add_trace(go.Scatter(
        x=series["day"].to_list(), y=series["value"].to_list(), mode="lines+markers", name=name,
        line={"color": color_for(change["provider"])}, marker={"size": 4},
        customdata=series["observations"].to_list(),
        hovertemplate="%{x|%Y-%m-%d}: %{y:.4g} (%{customdata:,} observations)<extra></extra>",
    ))
    if change.get("baseline_value") is not None and series.height:
        x0 = change["onset_day"] - dt.timedelta(days=28)
        fig.add_shape(type="rect", x0=x0, x1=change["onset_day"], y0=change["baseline_low"], y1=change["baseline_high"],
                      fillcolor="rgba(120,120,120,0.2)", line={"width": 0}, layer="below")
        fig.add_trace(go.Scatter(x=[x0, change["onset_day"]], y=[change["baseline_value"]] * 2, mode="lines",
                                 name="baseline (95% CI band)", line={"color": "gray", "dash": "dash"}))
    for day, dash, what in ((change["onset_day"], ONSET_DASH, "onset"), (change["detected_day"], DETECTED_DASH, "detected")):
        fig.add_shape(type="line", x0=day, x1=day, y0=0, y1=1, yref="paper", line={"color": FLAGGED, "dash": dash})
        fig.add_annotation(x=day, y=1, yref="paper", text=what, showarrow=False, yanchor="bottom")
    fig.update_layout(
        title={"text": plotly_text(f"{change['metric']} of {name}, daily")},
        xaxis_title="day (UTC)", yaxis_title=change["metric"], hovermode="closest",
        margin={"t": 60, "l": 60, "r": 20, "b": 50},
    )
    return fig


def build_provider_metric_figure(frame: pl.DataFrame, metric: str) -> go.Figure:
    """One model's daily ``metric`` per provider. Columns: day, provider, value, observations."""
    fig = go.Figure()
    for provider in frame["provider"].unique().sort().to_list() if frame.height else []:
        part = frame.filter(pl.col("provider") == provider)
        fig.add_trace(go.Scatter(
            x=part["day"].to_list(), y=part["value"].to_list(), mode="lines", name=provider,
            line={"color": color_for(provider)}, customdata=part["observations"].to_list(),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.4g} (%{customdata:,} observations)",
        ))
    fig.update_layout(title={"text": f"{metric} by provider, daily (markers: changes against each provider's own history)"},
                      xaxis_title="day (UTC)", yaxis_title=metric, legend_title="provider", hovermode="closest",
                      margin={"t": 60, "l": 60, "r": 20, "b": 50})
    return fig

