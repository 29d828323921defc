"""Figure builders: ``build_<name>_figure(frame) -> go.Figure``. Pure; tested directly."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.charts.palette import color_for


def build_tool_call_rate_figure(frame: pl.DataFrame, by: str = "model") -> go.Figure:
    """Tool-call rate over time, one line per ``by`` value.

    Expects columns: day, <by>, successful_requests, tool_call_requests.
    """
    fig = go.Figure()
    if frame.height:
        agg = (
            frame.group_by("day", by)
            .agg(pl.col("tool_call_requests").sum(), pl.col("successful_requests").sum())
            .with_columns(rate=pl.col("tool_call_requests") / pl.col("successful_requests"))
            .sort("day", by)
        )
        for key in agg[by].unique().sort().to_list():
            part = agg.filter(pl.col(by) == key)
            fig.add_trace(
                go.Scatter(
                    x=part["day"].to_list(), y=part["rate"].to_list(), mode="lines", name=str(key),
                    line={"color": color_for(str(key))},
                    customdata=list(zip(part["tool_call_requests"].to_list(), part["successful_requests"].to_list())),
                    hovertemplate="%{x|%Y-%m-%d}<br>" + f"{key}: " + "%{y:.1%}<br>%{customdata[0]:,} of %{customdata[1]:,} successful requests<extra></extra>",
                )
            )
    fig.update_layout(
        title=f"Tool-call rate by {by} (share of successful requests ending in a tool call)",
        xaxis_title="day (UTC)", yaxis_title="tool-call rate (%)", yaxis_tickformat=".0%",
        legend_title=by, hovermode="closest",
    )
    return fig
