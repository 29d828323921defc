"""Figure builders: ``build_<name>_figure(frame) -> go.Figure``. Pure (no I/O, no Streamlit).

Each builder draws exactly the frame it is given (the views query the marts already
aggregated to the drawn grain, and offer that same frame as the chart's CSV download). Colours
come from :mod:`dashboards.charts.palette` so a model or provider has one colour on every page.
Rates are fractions (0-1) shown as percentages.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from dashboards.charts.palette import FLAGGED, NOT_FLAGGED, TIER_COLORS, color_for
from dashboards.charts.text import plotly_text

PERIOD_AXIS = "period start (UTC)"


def _layout(fig: go.Figure, title: str, xaxis: str, yaxis: str, *, yfmt: str | None = None, legend: str | None = None) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        xaxis_title=xaxis,
        yaxis_title=yaxis,
        legend_title=legend,
        hovermode="closest",
        margin={"t": 60, "l": 60, "r": 20, "b": 50},
    )
    if yfmt:
        fig.update_yaxes(tickformat=yfmt)
    return fig


def _keys(frame: pl.DataFrame, key: str) -> list:
    return frame[key].unique().drop_nulls().sort().to_list() if frame.height else []


def _rate_lines(
    frame: pl.DataFrame, x: str, key: str, rate: str, num: str, den: str, what: str, den_what: str
) -> go.Figure:
    fig = go.Figure()
    for k in _keys(frame, key):
        part = frame.filter(pl.col(key) == k).sort(x)
        fig.add_trace(
            go.Scatter(
                x=part[x].to_list(),
                y=part[rate].to_list(),
                mode="lines+markers",
                name=str(k),
                line={"color": color_for(str(k))},
                marker={"size": 4},
                customdata=list(zip(part[num].to_list(), part[den].to_list(), strict=True)),
                hovertemplate=(
                    f"<b>{plotly_text(k)}</b><br>%{{x|%Y-%m-%d}}<br>{what}: %{{y:.1%}}"
                    f"<br>%{{customdata[0]:,}} of %{{customdata[1]:,}} {den_what}<extra></extra>"
                ),
            )
        )
    return fig


# ----------------------------------------------------------------------------- Overview


def build_adoption_figure(frame: pl.DataFrame) -> go.Figure:
    """The two headline adoption curves over time.

    Columns: period, tool_call_requests, successful_requests, tool_call_rate, reasoning_tokens,
    output_tokens_reporting, reasoning_share.
    """
    fig = go.Figure()
    f = frame.sort("period") if frame.height else frame
    specs = [
        ("tool-call rate", "tool_call_rate", "tool_call_requests", "successful_requests", "successful requests"),
        ("reasoning share", "reasoning_share", "reasoning_tokens", "output_tokens_reporting", "output tokens of reporting requests"),
    ]
    for name, rate, num, den, den_what in specs:
        fig.add_trace(
            go.Scatter(
                x=f["period"].to_list() if f.height else [],
                y=f[rate].to_list() if f.height else [],
                mode="lines+markers",
                name=name,
                line={"color": color_for(name), "width": 3},
                customdata=list(zip(f[num].to_list(), f[den].to_list(), strict=True)) if f.height else [],
                hovertemplate=(
                    f"<b>{name}</b><br>%{{x|%Y-%m-%d}}: %{{y:.1%}}"
                    f"<br>%{{customdata[0]:,}} of %{{customdata[1]:,}} {den_what}<extra></extra>"
                ),
            )
        )
    return _layout(fig, "Agent adoption: tool-call rate and reasoning-token share", PERIOD_AXIS, "share (%)", yfmt=".0%")


# ----------------------------------------------------------------------------- Tool calling


def build_tool_call_rate_figure(frame: pl.DataFrame, by: str = "model") -> go.Figure:
    """Tool-call rate over time, one line per ``by`` value (model or provider).

    Columns: period, <by>, tool_call_requests, successful_requests, tool_call_rate.
    """
    fig = _rate_lines(frame, "period", by, "tool_call_rate", "tool_call_requests", "successful_requests", "tool-call rate", "successful requests")
    return _layout(
        fig, f"Tool-call rate by {by} (share of successful requests ending in a tool call)",
        PERIOD_AXIS, "tool-call rate (%)", yfmt=".0%", legend=by,
    )


def build_when_offered_figure(frame: pl.DataFrame) -> go.Figure:
    """Headline rate beside the when-offered rate, per model (grouped bars).

    Columns: model, successful_requests, tool_call_requests, tool_call_rate, tools_offered_requests,
    tool_calls_when_offered, tool_call_rate_when_offered.
    """
    fig = go.Figure()
    f = frame.sort("model") if frame.height else frame
    for name, rate, num, den, den_what in [
        ("tool-call rate", "tool_call_rate", "tool_call_requests", "successful_requests", "successful requests"),
        ("when tools offered", "tool_call_rate_when_offered", "tool_calls_when_offered", "tools_offered_requests", "successful requests that offered tools"),
    ]:
        fig.add_trace(
            go.Bar(
                x=f["model"].to_list() if f.height else [],
                y=f[rate].to_list() if f.height else [],
                name=name,
                marker_color=color_for(name),
                customdata=list(zip(f[num].to_list(), f[den].to_list(), strict=True)) if f.height else [],
                hovertemplate=f"<b>%{{x}}</b><br>{name}: %{{y:.1%}}<br>%{{customdata[0]:,}} of %{{customdata[1]:,}} {den_what}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    return _layout(fig, "Headline tool-call rate vs rate when tools were offered, by model", "model", "tool-call rate (%)", yfmt=".0%")


def build_top_apps_figure(frame: pl.DataFrame) -> go.Figure:
    """Apps ranked by tool-call volume (horizontal bars). Columns: app, tool_call_requests, successful_requests, tool_call_rate."""
    f = frame.sort("tool_call_requests") if frame.height else frame
    fig = go.Figure(
        go.Bar(
            y=f["app"].to_list() if f.height else [],
            x=f["tool_call_requests"].to_list() if f.height else [],
            orientation="h",
            marker_color=[color_for(a) for a in f["app"].to_list()] if f.height else [],
            customdata=list(zip(f["tool_call_rate"].to_list(), f["successful_requests"].to_list(), strict=True)) if f.height else [],
            hovertemplate="<b>%{y}</b><br>%{x:,} tool-call requests<br>rate %{customdata[0]:.1%} of %{customdata[1]:,} successful requests<extra></extra>",
            name="tool-call requests",
        )
    )
    return _layout(fig, "Top apps by tool-call volume", "tool-call requests (count)", "app")


# ----------------------------------------------------------------------------- Reasoning


def build_reasoning_share_figure(frame: pl.DataFrame) -> go.Figure:
    """Reasoning-token share over time, one line per model.

    Columns: period, model, reasoning_tokens, output_tokens_reporting, reasoning_share.
    """
    fig = _rate_lines(frame, "period", "model", "reasoning_share", "reasoning_tokens", "output_tokens_reporting", "reasoning share", "output tokens of reporting requests")
    return _layout(
        fig, "Reasoning-token share by model (reasoning / output tokens, reporting requests only)",
        PERIOD_AXIS, "reasoning share (%)", yfmt=".0%", legend="model",
    )


def build_reasoning_coverage_figure(frame: pl.DataFrame) -> go.Figure:
    """Per model: requests reporting reasoning > 0, reporting exactly 0, and not reporting at all.

    Columns: model, nonzero_reasoning_requests, zero_reasoning_requests, not_reporting_requests,
    reporting_coverage.
    """
    f = frame.sort("model") if frame.height else frame
    fig = go.Figure()
    for name, col in [
        ("reported > 0", "nonzero_reasoning_requests"),
        ("reported zero", "zero_reasoning_requests"),
        ("not reported", "not_reporting_requests"),
    ]:
        fig.add_trace(
            go.Bar(
                x=f["model"].to_list() if f.height else [],
                y=f[col].to_list() if f.height else [],
                name=name,
                marker_color=color_for(name),
                customdata=f["reporting_coverage"].to_list() if f.height else [],
                hovertemplate=f"<b>%{{x}}</b><br>{name}: %{{y:,}} requests<br>coverage %{{customdata:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, "Reasoning reporting coverage by model (not reported ≠ zero)", "model", "requests (count)")


# ----------------------------------------------------------------------------- Model mix

MIX_MEASURES = {"requests": "request share", "total_tokens": "token share", "cost_usd": "cost share"}


def build_model_mix_figure(frame: pl.DataFrame, by: str = "model", measure: str = "requests") -> go.Figure:
    """Stacked area of one measure's share per period, by model or tier.

    Columns: period, <by>, <measure>, share (the measure's share of the period total, 0-1).
    """
    label = MIX_MEASURES[measure]
    fig = go.Figure()
    keys = _keys(frame, by)
    if by == "model_tier":
        keys = [k for k in TIER_COLORS if k in keys] + [k for k in keys if k not in TIER_COLORS]
    for k in keys:
        part = frame.filter(pl.col(by) == k).sort("period")
        unit = "USD" if measure == "cost_usd" else measure.replace("_", " ")
        fig.add_trace(
            go.Scatter(
                x=part["period"].to_list(),
                y=part["share"].to_list(),
                name=str(k),
                mode="lines",
                stackgroup="one",
                line={"color": color_for(str(k)), "width": 0.5},
                customdata=part[measure].to_list(),
                hovertemplate=f"<b>{plotly_text(k)}</b><br>%{{x|%Y-%m-%d}}: %{{y:.1%}} of {label.split()[0]}s<br>%{{customdata:,.2f}} {unit}<extra></extra>"
                if measure == "cost_usd"
                else f"<b>{plotly_text(k)}</b><br>%{{x|%Y-%m-%d}}: %{{y:.1%}}<br>%{{customdata:,}} {unit}<extra></extra>",
            )
        )
    who = "tier" if by == "model_tier" else by
    return _layout(fig, f"{label.capitalize()} by {who}", PERIOD_AXIS, f"{label} (%)", yfmt=".0%", legend=who)


def build_app_mix_figure(frame: pl.DataFrame) -> go.Figure:
    """Per app: frontier vs small-model requests (stacked) and the small models' share of tool calls.

    Columns: app, models_used, frontier_requests, small_requests, tool_call_requests, small_share_of_tool_calls.
    """
    f = frame.sort("app") if frame.height else frame
    fig = go.Figure()
    for name, col in [("frontier", "frontier_requests"), ("small", "small_requests")]:
        fig.add_trace(
            go.Bar(
                x=f["app"].to_list() if f.height else [],
                y=f[col].to_list() if f.height else [],
                name=f"{name}-tier requests",
                marker_color=color_for(name),
                customdata=list(zip(f["models_used"].to_list(), f["small_share_of_tool_calls"].to_list(), strict=True)) if f.height else [],
                hovertemplate=(
                    f"<b>%{{x}}</b><br>{name}-tier requests: %{{y:,}}<br>models used (max/day): %{{customdata[0]}}"
                    "<br>small models' share of tool calls: %{customdata[1]:.1%}<extra></extra>"
                ),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=f["app"].to_list() if f.height else [],
            y=f["small_share_of_tool_calls"].to_list() if f.height else [],
            name="small share of tool calls",
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": "#222"},
            yaxis="y2",
            hovertemplate="<b>%{x}</b><br>small models' share of tool calls: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="stack",
        yaxis2={"title": "small share of tool calls (%)", "overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1]},
    )
    return _layout(fig, "Multi-model apps: frontier plans, small executes", "app", "requests (count)")


# ----------------------------------------------------------------------------- Providers


def build_provider_tool_call_figure(frame: pl.DataFrame) -> go.Figure:
    """One model's providers: tool-call rate with Wilson 95% CI error bars; flagged ones in red with p-values.

    Columns: provider, requests, tool_call_rate, ci_low, ci_high, other_tool_call_rate, rate_delta, p_value, p_adjusted, flagged.
    """
    f = frame.sort("provider") if frame.height else frame
    fig = go.Figure()
    for flagged, name, color in [(False, "not flagged", NOT_FLAGGED), (True, "flagged (significant and material)", FLAGGED)]:
        part = f.filter(pl.col("flagged") == flagged) if f.height else f
        fig.add_trace(
            go.Scatter(
                x=part["provider"].to_list() if part.height else [],
                y=part["tool_call_rate"].to_list() if part.height else [],
                mode="markers+text" if flagged else "markers",
                name=name,
                marker={"color": color, "size": 12 if flagged else 10, "symbol": "x" if flagged else "circle"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (part["ci_high"] - part["tool_call_rate"]).to_list() if part.height else [],
                    "arrayminus": (part["tool_call_rate"] - part["ci_low"]).to_list() if part.height else [],
                    "color": color,
                },
                text=[f"p={p:.1e}" if p is not None else "" for p in part["p_value"].to_list()] if flagged and part.height else None,
                textposition="middle right",
                cliponaxis=False,
                customdata=list(
                    zip(part["ci_low"].to_list(), part["ci_high"].to_list(), part["other_tool_call_rate"].to_list(),
                        part["p_value"].to_list(), part["p_adjusted"].to_list(), part["requests"].to_list(), strict=True)
                ) if part.height else [],
                hovertemplate=(
                    "<b>%{x}</b><br>tool-call rate %{y:.1%} (95% CI %{customdata[0]:.1%}–%{customdata[1]:.1%})"
                    "<br>same model on its other providers: %{customdata[2]:.1%}<br>p-value %{customdata[3]:.2g}"
                    " (Holm-adjusted %{customdata[4]:.2g})<br>%{customdata[5]:,} requests<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(categoryorder="category ascending")
    return _layout(fig, "Tool-call rate by provider with 95% CI (flagged pairs in red)", "provider", "tool-call rate (%)", yfmt=".0%")


def build_provider_error_rate_figure(frame: pl.DataFrame) -> go.Figure:
    """Error rate per provider of one model. Columns: provider, requests, error_rate, flagged."""
    f = frame.sort("provider") if frame.height else frame
    fig = go.Figure(
        go.Bar(
            x=f["provider"].to_list() if f.height else [],
            y=f["error_rate"].to_list() if f.height else [],
            marker_color=[color_for(p) for p in f["provider"].to_list()] if f.height else [],
            marker_line={"color": [FLAGGED if fl else "rgba(0,0,0,0)" for fl in f["flagged"].to_list()], "width": 3} if f.height else {},
            customdata=f["requests"].to_list() if f.height else [],
            hovertemplate="<b>%{x}</b><br>error rate %{y:.2%}<br>%{customdata:,} requests<extra></extra>",
            name="error rate",
        )
    )
    return _layout(fig, "Error rate by provider", "provider", "error rate (%)", yfmt=".1%")


def build_provider_latency_figure(frame: pl.DataFrame) -> go.Figure:
    """Latency p50/p95 and TTFT p50 per provider of one model, milliseconds.

    Columns: provider, latency_p50_ms, latency_p95_ms, ttft_p50_ms.
    """
    f = frame.sort("provider") if frame.height else frame
    fig = go.Figure()
    for name, col in [("p50", "latency_p50_ms"), ("p95", "latency_p95_ms"), ("ttft p50", "ttft_p50_ms")]:
        fig.add_trace(
            go.Bar(
                x=f["provider"].to_list() if f.height else [],
                y=f[col].to_list() if f.height else [],
                name=f"latency {name}" if name != "ttft p50" else "time to first token p50",
                marker_color=color_for(name),
                hovertemplate=f"<b>%{{x}}</b><br>{name}: %{{y:,.0f}} ms<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    return _layout(fig, "Latency and time to first token by provider", "provider", "milliseconds")


def build_provider_throughput_figure(frame: pl.DataFrame) -> go.Figure:
    """Output tokens per second (p50) per provider of one model. Columns: provider, output_tps_p50."""
    f = frame.sort("provider") if frame.height else frame
    fig = go.Figure(
        go.Bar(
            x=f["provider"].to_list() if f.height else [],
            y=f["output_tps_p50"].to_list() if f.height else [],
            marker_color=[color_for(p) for p in f["provider"].to_list()] if f.height else [],
            hovertemplate="<b>%{x}</b><br>%{y:,.1f} output tokens/s (p50)<extra></extra>",
            name="tokens/s p50",
        )
    )
    return _layout(fig, "Output speed by provider (p50)", "provider", "output tokens per second")


def build_uptime_heatmap_figure(frame: pl.DataFrame) -> go.Figure:
    """Attempt success rate, provider × time bucket (hour or day).

    Columns: period (timestamp), provider, attempts, attempt_success_rate (metrics layer:
    attempt_success_rate / attempt_success_rate_hourly).
    """
    fig = go.Figure()
    if frame.height:
        wide = frame.sort("period").pivot(on="period", index="provider", values="attempt_success_rate", aggregate_function="first").sort("provider")
        attempts = frame.sort("period").pivot(on="period", index="provider", values="attempts", aggregate_function="first").sort("provider")
        cols = [c for c in wide.columns if c != "provider"]
        fig.add_trace(
            go.Heatmap(
                z=wide.select(cols).to_numpy(),
                x=frame["period"].unique().sort().to_list(),
                y=wide["provider"].to_list(),
                customdata=attempts.select(cols).to_numpy(),
                colorscale="RdYlGn",
                zmin=max(0.0, min(0.9, float(frame["attempt_success_rate"].min() or 0.0))),
                zmax=1.0,
                colorbar={"title": "success", "tickformat": ".0%"},
                hovertemplate="<b>%{y}</b><br>%{x|%Y-%m-%d %H:%M} UTC<br>success rate %{z:.1%}<br>%{customdata:,} attempts<extra></extra>",
                hoverongaps=False,
            )
        )
    return _layout(fig, "Provider uptime: share of attempts that succeeded", "time (UTC)", "provider")


def build_failover_figure(frame: pl.DataFrame) -> go.Figure:
    """Failovers out of each provider over time (stacked bars). Columns: period, provider, failovers_out,
    and optionally failover_rate (metrics layer: failovers out / attempts at the provider)."""
    fig = go.Figure()
    for k in _keys(frame, "provider"):
        part = frame.filter(pl.col("provider") == k).sort("period")
        rate = part["failover_rate"].to_list() if "failover_rate" in part.columns else None
        fig.add_trace(
            go.Bar(
                x=part["period"].to_list(),
                y=part["failovers_out"].to_list(),
                name=str(k),
                marker_color=color_for(str(k)),
                customdata=rate,
                hovertemplate=f"<b>{plotly_text(k)}</b><br>%{{x|%Y-%m-%d}}<br>%{{y:,}} requests failed over to another provider"
                + ("<br>%{customdata:.2%} of its attempts" if rate is not None else "") + "<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, "Failovers: requests whose attempt failed here and another provider served them", PERIOD_AXIS, "failovers (count)", legend="provider")


# ----------------------------------------------------------------------------- Load


def build_load_heatmap_figure(frame: pl.DataFrame) -> go.Figure:
    """Requests per hour: hour of day (y) × day (x). Columns: day, hour_of_day, requests."""
    fig = go.Figure()
    if frame.height:
        days = frame["day"].unique().sort().to_list()
        grid = {(d, h): 0 for d in days for h in range(24)}
        for d, h, n in frame.select("day", "hour_of_day", "requests").iter_rows():
            grid[(d, h)] = n
        z = [[grid[(d, h)] for d in days] for h in range(24)]
        fig.add_trace(
            go.Heatmap(
                z=z, x=days, y=list(range(24)), colorscale="Viridis",
                colorbar={"title": "requests"},
                hovertemplate="%{x|%Y-%m-%d} %{y:02d}:00 UTC<br>%{z:,} requests<extra></extra>",
            )
        )
    fig.update_yaxes(dtick=3)
    return _layout(fig, "Load: requests per hour of day", "day (UTC)", "hour of day (UTC)")


def build_peak_to_mean_figure(frame: pl.DataFrame) -> go.Figure:
    """Peak-hour requests over mean-hour requests, per day. Columns: day, peak_hour_requests, mean_hour_requests, peak_to_mean."""
    f = frame.sort("day") if frame.height else frame
    fig = go.Figure(
        go.Scatter(
            x=f["day"].to_list() if f.height else [],
            y=f["peak_to_mean"].to_list() if f.height else [],
            mode="lines+markers",
            name="peak-to-mean",
            line={"color": "#E45756"},
            customdata=list(zip(f["peak_hour_requests"].to_list(), f["mean_hour_requests"].to_list(), strict=True)) if f.height else [],
            hovertemplate="%{x|%Y-%m-%d}<br>peak/mean %{y:.2f}×<br>peak hour %{customdata[0]:,} requests, mean %{customdata[1]:,.0f}<extra></extra>",
        )
    )
    return _layout(fig, "Burstiness: peak hour vs mean hour, per day", "day (UTC)", "peak-to-mean (×)")


def build_batch_share_figure(frame: pl.DataFrame) -> go.Figure:
    """Share of each day's requests inside the configured batch window. Columns: day, batch_window_share."""
    f = frame.sort("day") if frame.height else frame
    fig = go.Figure(
        go.Scatter(
            x=f["day"].to_list() if f.height else [],
            y=f["batch_window_share"].to_list() if f.height else [],
            mode="lines",
            fill="tozeroy",
            name="batch-window share",
            line={"color": "#54A24B"},
            hovertemplate="%{x|%Y-%m-%d}<br>%{y:.1%} of requests in the batch window<extra></extra>",
        )
    )
    return _layout(fig, "Share of traffic in the batch window", "day (UTC)", "share of requests (%)", yfmt=".0%")


# ----------------------------------------------------------------------------- Data quality


def build_quarantine_figure(frame: pl.DataFrame) -> go.Figure:
    """Quarantined lines by reason (horizontal bars). Columns: reason, lines."""
    f = frame.sort("lines") if frame.height else frame
    fig = go.Figure(
        go.Bar(
            y=f["reason"].to_list() if f.height else [],
            x=f["lines"].to_list() if f.height else [],
            orientation="h",
            marker_color="#E45756",
            hovertemplate="<b>%{y}</b><br>%{x:,} lines<extra></extra>",
            name="quarantined lines",
        )
    )
    fig.update_xaxes(tickformat=",d", rangemode="tozero")
    return _layout(fig, "Quarantined lines by reason", "lines (count)", "reason")


def build_ingest_figure(frame: pl.DataFrame) -> go.Figure:
    """Lines ingested per day of ingestion, by outcome (stacked). Columns: ingested_day, rows_inserted, duplicates, quarantined, merged."""
    f = frame.sort("ingested_day") if frame.height else frame
    fig = go.Figure()
    for col, color in [("rows_inserted", "#4C78A8"), ("duplicates", "#F58518"), ("merged", "#72B7B2"), ("quarantined", "#E45756")]:
        fig.add_trace(
            go.Bar(
                x=f["ingested_day"].to_list() if f.height else [],
                y=f[col].to_list() if f.height else [],
                name=col.replace("_", " "),
                marker_color=color,
                hovertemplate=f"%{{x|%Y-%m-%d}}<br>{col.replace('_', ' ')}: %{{y:,}} lines<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return _layout(fig, "Ingested lines by outcome, per ingestion day", "ingestion day (UTC)", "lines (count)")


# ----------------------------------------------------------------------------- Cost and model identity


def build_cost_reconciliation_figure(frame: pl.DataFrame) -> go.Figure:
    """Logged cost as a share of the list-price estimate, per model x provider (horizontal bars;
    1 = billed at list price). Columns: model, provider, requests, logged_usd, estimated_usd, ratio."""
    f = frame.sort(["ratio", "model", "provider"]) if frame.height else frame
    labels = [f"{m} · {p}" for m, p in zip(f["model"].to_list(), f["provider"].to_list(), strict=True)] if f.height else []
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=f["ratio"].to_list() if f.height else [],
            orientation="h",
            marker_color=[color_for(str(m)) for m in f["model"].to_list()] if f.height else [],
            customdata=list(zip(labels, f["logged_usd"].to_list(), f["estimated_usd"].to_list(),
                                f["requests"].to_list(), strict=True)) if f.height else [],
            hovertemplate=("<b>%{customdata[0]}</b><br>logged / list price: %{x:.2f}<br>logged $%{customdata[1]:,.2f}"
                           " vs list $%{customdata[2]:,.2f}<br>%{customdata[3]:,} requests<extra></extra>"),
            name="logged / list",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#888")
    fig.update_yaxes(type="category")
    return _layout(fig, "Billed vs list price (logged cost / genai-prices estimate)", "ratio (1 = list price)",
                   "model · provider")


def build_substitution_figure(frame: pl.DataFrame) -> go.Figure:
    """Requests served by another model than asked, per requested -> served pair (horizontal bars).
    Columns: model_requested, model, requests, share (of the requested model's requests)."""
    f = frame.sort(["requests", "model_requested", "model"]) if frame.height else frame
    labels = [f"{r} → {m}" for r, m in zip(f["model_requested"].to_list(), f["model"].to_list(), strict=True)] if f.height else []
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=f["requests"].to_list() if f.height else [],
            orientation="h",
            marker_color=[color_for(str(m)) for m in f["model"].to_list()] if f.height else [],
            customdata=list(zip(labels, f["share"].to_list(), strict=True)) if f.height else [],
            hovertemplate="<b>%{customdata[0]}</b><br>%{x:,} requests (%{customdata[1]:.1%} of those asking)<extra></extra>",
            name="served instead",
        )
    )
    fig.update_xaxes(tickformat=",d", rangemode="tozero")
    fig.update_yaxes(type="category")
    return _layout(fig, "Requested vs served model (substitutions only)", "requests (count)", "requested → served")


# ----------------------------------------------------------------------------- SQL console


def build_result_figure(frame: pl.DataFrame, x: str | None = None, ys: Sequence[str] | None = None) -> go.Figure:
    """Quick look at a console result: first column on x, numeric columns as lines."""
    fig = go.Figure()
    if frame.height and frame.width:
        x = x or frame.columns[0]
        numeric = [c for c, t in frame.schema.items() if c != x and t.is_numeric()]
        for col in (numeric[:6] if ys is None else ys):
            fig.add_trace(
                go.Scatter(
                    x=frame[x].to_list(), y=frame[col].to_list(), mode="lines+markers", name=col,
                    line={"color": color_for(col)},
                    hovertemplate=f"{plotly_text(x)}=%{{x}}<br>{plotly_text(col)}=%{{y:,}}<extra></extra>",
                )
            )
    return _layout(fig, "Result", plotly_text(x or ""), "value (column units)")
