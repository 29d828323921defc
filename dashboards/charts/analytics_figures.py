"""Figure builders of the Data policy, Lock-in, Users and Latency/errors/cache pages (#14).

Same contract as :mod:`dashboards.charts.figures`: pure ``build_<chart>_figure(frame) -> go.Figure``
functions that draw exactly the frame they are given (the views offer that frame as the chart's
CSV). Names from the data (apps, models, providers, attribute values) are passed raw as data and
trace names (``ui.chart`` runs :func:`dashboards.charts.text.safe_figure` over them) and through
:func:`plotly_text` where a builder composes them into a template or title: text, never markup. Colours come from the shared palette; the values
of a policy attribute have fixed colours (yes = exposure, no = safe, unknown = grey).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.charts.figures import PERIOD_AXIS, _layout
from dashboards.charts.palette import color_for
from dashboards.charts.text import plotly_text

POLICY_COLORS = {"yes": "#D55E00", "varies": "#E69F00", "no": "#0072B2", "unknown": "#9AA0A6"}
QUANTILE_COLORS = {"p50": "#0072B2", "p90": "#E69F00", "p95": "#CC79A7", "p99": "#D55E00"}


def _t(value: object) -> str:
    """A name from the data composed into a Plotly template or title."""
    return plotly_text(value)


def _values(frame: pl.DataFrame, col: str) -> list:
    return frame[col].unique().drop_nulls().sort().to_list() if frame.height else []


def _color(value: str) -> str:
    return POLICY_COLORS.get(value) or color_for(value)


def _col(frame: pl.DataFrame, col: str) -> list:
    return frame[col].to_list() if frame.height else []


# ----------------------------------------------------------------------------- Data policy


def build_policy_share_figure(frame: pl.DataFrame, attribute: str) -> go.Figure:
    """Share of tokens per period by the value of one catalogue attribute (stacked areas).

    Columns: period, value, total_tokens, total_tokens_share.
    """
    fig = go.Figure()
    for v in _values(frame, "value"):
        part = frame.filter(pl.col("value") == v).sort("period")
        fig.add_trace(go.Scatter(
            x=_col(part, "period"), y=_col(part, "total_tokens_share"), name=str(v), mode="lines", stackgroup="one",
            line={"color": _color(v), "width": 0.5}, customdata=_col(part, "total_tokens"),
            hovertemplate=f"<b>{_t(attribute)} = {_t(v)}</b><br>%{{x|%Y-%m-%d}}: %{{y:.1%}} of tokens"
                          "<br>%{customdata:,} tokens<extra></extra>",
        ))
    return _layout(fig, f"Share of tokens by provider {attribute.replace('_', ' ')}", PERIOD_AXIS, "share of tokens (%)",
                   yfmt=".0%", legend=attribute.replace("_", " "))


def build_policy_by_app_figure(frame: pl.DataFrame, attribute: str) -> go.Figure:
    """Per app: share of its tokens by attribute value (horizontal stacked bars).

    Columns: app, value, total_tokens, total_tokens_share (of the app's tokens).
    """
    fig = go.Figure()
    for v in _values(frame, "value"):
        part = frame.filter(pl.col("value") == v).sort("app")
        fig.add_trace(go.Bar(
            y=[a for a in _col(part, "app")], x=_col(part, "total_tokens_share"), name=str(v), orientation="h",
            marker_color=_color(v), customdata=_col(part, "total_tokens"),
            hovertemplate=f"<b>%{{y}}</b><br>{_t(attribute)} = {_t(v)}: %{{x:.1%}} of the app's tokens"
                          "<br>%{customdata:,} tokens<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(categoryorder="category descending")
    return _layout(fig, f"Per app: tokens by provider {attribute.replace('_', ' ')}", "share of the app's tokens (%)", "app",
                   legend=attribute.replace("_", " ")).update_xaxes(tickformat=".0%")


# ----------------------------------------------------------------------------- Lock-in


def build_hhi_figure(frame: pl.DataFrame, column: str = "vendor_hhi") -> go.Figure:
    """Concentration per app per month (1 = a single vendor). Columns: day (month), app, <column>, top_vendor."""
    fig = go.Figure()
    for app in _values(frame, "app"):
        part = frame.filter(pl.col("app") == app).sort("day")
        fig.add_trace(go.Scatter(
            x=_col(part, "day"), y=_col(part, column), name=str(app), mode="lines+markers",
            line={"color": color_for(app)}, customdata=[v for v in _col(part, "top_vendor")],
            hovertemplate=f"<b>{_t(app)}</b><br>%{{x|%Y-%m}}: HHI %{{y:.2f}}<br>top vendor %{{customdata}}<extra></extra>",
        ))
    who = "vendors" if column == "vendor_hhi" else "providers"
    fig.update_yaxes(range=[0, 1.05])
    fig.update_xaxes(tickformat="%Y-%m", dtick="M1")  # monthly rows: month ticks, even for one month
    return _layout(fig, f"Concentration on {who} per app (HHI of token shares: 1 = one {who[:-1]})", "month (UTC)", "HHI", legend="app")


def build_optionality_figure(frame: pl.DataFrame) -> go.Figure:
    """Per app: tokens on single-provider models and requests with failover coverage.

    Columns: app, single_provider_share, failover_coverage, total_tokens, requests.
    """
    f = frame.sort("app") if frame.height else frame
    fig = go.Figure()
    for col, name, color in [("single_provider_share", "tokens on single-provider models", "#D55E00"),
                             ("failover_coverage", "requests with a second provider available", "#0072B2")]:
        fig.add_trace(go.Bar(
            x=[a for a in _col(f, "app")], y=_col(f, col), name=name, marker_color=color,
            hovertemplate=f"<b>%{{x}}</b><br>{name}: %{{y:.1%}}<extra></extra>",
        ))
    fig.update_layout(barmode="group")
    return _layout(fig, "Optionality per app: single-provider exposure vs failover coverage", "app", "share (%)", yfmt=".0%")


def build_switches_figure(frame: pl.DataFrame) -> go.Figure:
    """When each app's top model changed. Columns: day (month), app, from_model, to_model, share_before, share_after."""
    f = frame.sort("day", "app") if frame.height else frame
    fig = go.Figure(go.Scatter(
        x=_col(f, "day"), y=[a for a in _col(f, "app")], mode="markers+text",
        marker={"size": 14, "symbol": "arrow-right", "color": [color_for(m) for m in _col(f, "to_model")]},
        text=[m.split("/")[-1] for m in _col(f, "to_model")], textposition="top center",
        customdata=list(zip([m for m in _col(f, "from_model")], [m for m in _col(f, "to_model")],
                            _col(f, "share_before"), _col(f, "share_after"), strict=True)) if f.height else [],
        hovertemplate="<b>%{y}</b> %{x|%Y-%m}<br>%{customdata[0]} (%{customdata[2]:.0%} of tokens the month before)"
                      "<br>→ %{customdata[1]} (%{customdata[3]:.0%} this month)<extra></extra>",
        name="top-model switch",
    ))
    fig.update_xaxes(tickformat="%Y-%m", dtick="M1")
    return _layout(fig, "Model switches: months in which an app's top model changed", "month (UTC)", "app")


def build_adoption_lag_figure(frame: pl.DataFrame) -> go.Figure:
    """Days from a model's first appearance in the gateway to each app's first use (heat map).

    Columns: app, model, lag_days, first_seen_in_gateway, first_used_by_app.
    """
    apps, models = _values(frame, "app"), _values(frame, "model")
    lag = {(r["app"], r["model"]): r["lag_days"] for r in frame.iter_rows(named=True)} if frame.height else {}
    z = [[lag.get((a, m)) for m in models] for a in apps]
    fig = go.Figure(go.Heatmap(
        x=[m for m in models], y=[a for a in apps], z=z, colorscale="Cividis", colorbar={"title": "days"},
        hovertemplate="<b>%{y}</b> adopted <b>%{x}</b><br>%{z} days after it first appeared<extra></extra>",
        hoverongaps=False,
    ))
    return _layout(fig, "Adoption lag: days until each app first used a new model", "model", "app")


# ----------------------------------------------------------------------------- Users


def build_active_users_figure(frame: pl.DataFrame) -> go.Figure:
    """Daily, weekly and monthly active users. Columns: day, active_users, wau, mau."""
    f = frame.sort("day") if frame.height else frame
    fig = go.Figure()
    for col, name, color in [("active_users", "daily active", "#0072B2"), ("wau", "weekly active (7 days)", "#E69F00"),
                             ("mau", "monthly active (28 days)", "#CC79A7")]:
        fig.add_trace(go.Scatter(x=_col(f, "day"), y=_col(f, col), name=name, mode="lines", line={"color": color},
                                 hovertemplate=f"%{{x|%Y-%m-%d}}: %{{y:,}} {name} users<extra></extra>"))
    return _layout(fig, "Active users (user_hash; summed over the selected apps)", "day (UTC)", "users (count)")


def build_cost_per_user_figure(frame: pl.DataFrame) -> go.Figure:
    """Cost per active user per day: p50, p90, p99 (log scale: the heavy tail). Columns: day, cost_per_user_p50/p90/p99."""
    f = frame.sort("day") if frame.height else frame
    fig = go.Figure()
    for q in ("p50", "p90", "p99"):
        fig.add_trace(go.Scatter(x=_col(f, "day"), y=_col(f, f"cost_per_user_{q}"), name=q, mode="lines",
                                 line={"color": QUANTILE_COLORS[q]},
                                 hovertemplate=f"%{{x|%Y-%m-%d}}: {q} %{{y:$,.4f}} per user<extra></extra>"))
    fig.update_yaxes(type="log")
    return _layout(fig, "Cost per active user per day (quantiles over users)", "day (UTC)", "USD per user (log scale)")


def build_sessions_figure(frame: pl.DataFrame) -> go.Figure:
    """Per app: sessions (bars) and requests per session p50/p90 (markers, right axis).

    Columns: app, sessions, requests_per_session_p50, requests_per_session_p90.
    """
    f = frame.sort("app") if frame.height else frame
    apps = [a for a in _col(f, "app")]
    fig = go.Figure(go.Bar(x=apps, y=_col(f, "sessions"), name="sessions", marker_color=[color_for(a) for a in _col(f, "app")],
                           hovertemplate="<b>%{x}</b><br>%{y:,} sessions<extra></extra>"))
    for q, symbol in (("p50", "circle"), ("p90", "diamond")):
        fig.add_trace(go.Scatter(x=apps, y=_col(f, f"requests_per_session_{q}"), name=f"requests per session {q}",
                                 mode="markers", yaxis="y2", marker={"symbol": symbol, "size": 11, "color": QUANTILE_COLORS[q]},
                                 hovertemplate=f"<b>%{{x}}</b><br>{q}: %{{y:.1f}} requests per session<extra></extra>"))
    fig.update_layout(yaxis2={"title": "requests per session (median of days)", "overlaying": "y", "side": "right"})
    return _layout(fig, "Sessions per app and their length", "app", "sessions (count)")


# ----------------------------------------------------------------------------- Latency, errors, cache


def build_rate_lines_figure(frame: pl.DataFrame, key: str, rate: str, num: str, den: str, title: str, ylabel: str) -> go.Figure:
    """One line per ``key`` of ``rate`` over ``period``, hover showing num of den. Columns: period, key, num, den, rate."""
    fig = go.Figure()
    for k in _values(frame, key):
        part = frame.filter(pl.col(key) == k).sort("period")
        fig.add_trace(go.Scatter(
            x=_col(part, "period"), y=_col(part, rate), name=str(k), mode="lines+markers", marker={"size": 4},
            line={"color": color_for(str(k))}, customdata=list(zip(_col(part, num), _col(part, den), strict=True)),
            hovertemplate=f"<b>{_t(k)}</b><br>%{{x|%Y-%m-%d}}: %{{y:.1%}}<br>%{{customdata[0]:,}} of %{{customdata[1]:,}}<extra></extra>",
        ))
    return _layout(fig, title, PERIOD_AXIS, ylabel, yfmt=".0%", legend=key)


def build_cache_savings_figure(frame: pl.DataFrame) -> go.Figure:
    """Net savings of caching at list price, per model (cached reads minus the cache-write premium).
    Columns: model, savings_usd, cached_tokens, cache_write_tokens, and optionally cache_write_premium_usd."""
    f = frame.sort("savings_usd", descending=True, nulls_last=True) if frame.height else frame
    premium = _col(f, "cache_write_premium_usd") if "cache_write_premium_usd" in f.columns else [None] * f.height
    fig = go.Figure(go.Bar(
        x=[m for m in _col(f, "model")], y=_col(f, "savings_usd"), marker_color=[color_for(m) for m in _col(f, "model")],
        customdata=list(zip(_col(f, "cached_tokens"), _col(f, "cache_write_tokens"), premium, strict=True)) if f.height else [],
        hovertemplate="<b>%{x}</b><br>net saving %{y:$,.2f}<br>%{customdata[0]:,} cached tokens read"
                      "<br>%{customdata[1]:,} tokens written to the cache (premium %{customdata[2]:$,.2f})<extra></extra>",
        name="savings",
    ))
    return _layout(fig, "Cache savings by model (net of cache-write premiums, list price)", "model", "USD")


def build_errors_figure(frame: pl.DataFrame) -> go.Figure:
    """Failed requests per period by error class (stacked bars). Columns: period, error_type, errors."""
    fig = go.Figure()
    for e in _values(frame, "error_type"):
        part = frame.filter(pl.col("error_type") == e).sort("period")
        fig.add_trace(go.Bar(x=_col(part, "period"), y=_col(part, "errors"), name=str(e), marker_color=color_for(f"error:{e}"),
                             hovertemplate=f"<b>{_t(e)}</b><br>%{{x|%Y-%m-%d}}: %{{y:,}} failed requests<extra></extra>"))
    fig.update_layout(barmode="stack")
    return _layout(fig, "Errors users saw, by class", PERIOD_AXIS, "failed requests (count)", legend="error class")


def build_latency_tail_figure(frame: pl.DataFrame, key: str = "provider") -> go.Figure:
    """Latency and TTFT quantiles per ``key`` (grouped bars, ms). Columns: <key>, latency_p50_ms .. latency_p99_ms, ttft_p50_ms, ttft_p99_ms."""
    f = frame.sort(key) if frame.height else frame
    fig = go.Figure()
    specs = [("latency p50", "latency_p50_ms", QUANTILE_COLORS["p50"]), ("latency p90", "latency_p90_ms", QUANTILE_COLORS["p90"]),
             ("latency p95", "latency_p95_ms", QUANTILE_COLORS["p95"]), ("latency p99", "latency_p99_ms", QUANTILE_COLORS["p99"]),
             ("TTFT p50", "ttft_p50_ms", "#99DDFF"), ("TTFT p99", "ttft_p99_ms", "#663333")]
    for name, col, color in specs:
        fig.add_trace(go.Bar(x=[k for k in _col(f, key)], y=_col(f, col), name=name, marker_color=color,
                             hovertemplate=f"<b>%{{x}}</b><br>{name}: %{{y:,.0f}} ms<extra></extra>"))
    fig.update_layout(barmode="group")
    return _layout(fig, f"Latency tails by {key} (median over days of each day's quantile)", key, "milliseconds")
