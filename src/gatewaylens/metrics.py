"""The metrics layer: every ratio the dashboard and the analysts use, defined once.

A :class:`Metric` names a mart, an additive numerator, an additive denominator (``None`` for a
plain total) and the dimensions it can be sliced by. Rolling a metric up to any grain is always
``sum(numerator) / sum(denominator)`` — never an average of the mart's precomputed rate columns —
so a metric drawn by week, by app or as one KPI tile is the same definition.

:func:`metric_sql` turns a list of metric names (all on one mart) into ONE SELECT::

    SELECT <period>, <by...>,
           sum(<num>) AS <num>, sum(<den>) AS <den>, sum(<num>) / nullif(sum(<den>), 0) AS <metric>
    FROM <mart> WHERE <where> GROUP BY ALL ORDER BY ...

Identifiers come only from this registry (mart names, column names, dimension names are an
allow-list: an unknown name raises); the ``where`` fragment is fixed text produced by the caller
(``dashboards.charts.filters.Filters.where``) whose values are bind parameters. The library
never imports Streamlit: the dashboard's views, the CLI and tests call the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

ALL_DIMS = ("model", "provider", "app")
# provider catalogue attributes carried by policy_exposure_daily (dimensions of its metrics)
POLICY_ATTRIBUTES = ("retains_prompts", "trains_on_prompts", "zdr_available", "jurisdiction", "gpu_ownership",
                     "confidential_compute", "quantization_disclosed")


@dataclass(frozen=True)
class Metric:
    """One metric: ``sum(numerator) / sum(denominator)`` over ``table`` (denominator None = a total).

    ``numerator``/``denominator`` name the output columns; ``numerator_sql``/``denominator_sql``
    are the per-row expressions summed (default: the column of the same name).
    """

    name: str
    table: str
    numerator: str
    denominator: str | None
    dimensions: tuple[str, ...]
    unit: str  # 'rate' (0-1) | 'count' | 'tokens' | 'usd'
    description: str
    numerator_sql: str | None = None
    denominator_sql: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # further additive columns drawn with it

    def parts(self) -> list[tuple[str, str]]:
        """(output column, summed SQL expression) of the numerator, denominator and extras."""
        out = [(self.numerator, self.numerator_sql or self.numerator)]
        if self.denominator is not None:
            out.append((self.denominator, self.denominator_sql or self.denominator))
        out += list(self.extra.items())
        return out

    def value(self, num: float | int | None, den: float | int | None = None) -> float | None:
        """The metric from already-summed parts (None when the denominator is 0 or missing)."""
        if self.denominator is None:
            return None if num is None else float(num)
        if num is None or not den:
            return None
        return float(num) / float(den)


_METRICS: tuple[Metric, ...] = (
    # ---- adoption
    Metric("tool_call_rate", "tool_call_rate_daily", "tool_call_requests", "successful_requests", ALL_DIMS, "rate",
           "Successful requests ending in a tool call / successful requests."),
    Metric("tool_call_rate_when_offered", "tool_call_rate_daily", "tool_calls_when_offered", "tools_offered_requests",
           ALL_DIMS, "rate", "Of successful requests that offered tools, the share ending in a tool call."),
    Metric("success_rate", "tool_call_rate_daily", "successful_requests", "requests", ALL_DIMS, "rate",
           "Requests with status success / requests."),
    Metric("requests", "tool_call_rate_daily", "requests", None, ALL_DIMS, "count", "Requests, errors included."),
    Metric("reasoning_share", "reasoning_share_daily", "reasoning_tokens", "output_tokens_reporting",
           ("model", "provider"), "rate",
           "Reasoning tokens / output tokens of requests that report reasoning (not reported is not zero)."),
    Metric("reasoning_coverage", "reasoning_share_daily", "reporting_requests", "requests", ("model", "provider"), "rate",
           "Requests that report reasoning tokens (0 included) / requests.",
           extra={"zero_reasoning_requests": "zero_reasoning_requests"}),
    Metric("tokens", "cost_daily", "total_tokens", None, ALL_DIMS, "tokens", "Input + output tokens.",
           numerator_sql="input_tokens + output_tokens"),
    Metric("cost_usd", "cost_daily", "cost_usd", None, ALL_DIMS, "usd",
           "Logged cost, else the catalog list-price estimate, USD (unknown costs excluded)."),
    Metric("small_share_of_tool_calls", "app_model_mix_daily", "small_tool_call_requests", "tool_call_requests", ("app",), "rate",
           "Tool calls made by small-tier models / all tool calls of the app (frontier plans, small executes).",
           extra={"frontier_requests": "frontier_requests", "small_requests": "small_requests"}),
    # ---- providers
    Metric("attempt_success_rate", "provider_uptime_daily", "successful_attempts", "attempts", ("provider",), "rate",
           "Provider attempts that did not fail / attempts.", numerator_sql="attempts - failed_attempts"),
    Metric("failovers", "provider_uptime_daily", "failovers_out", None, ("provider",), "count",
           "Attempts at this provider after which the request moved to another provider."),
    Metric("failover_rate", "provider_uptime_daily", "failovers_out", "attempts", ("provider",), "rate",
           "Attempts at this provider after which the request moved to another provider / attempts."),
    Metric("attempt_success_rate_hourly", "provider_uptime_hourly", "successful_attempts", "attempts", ("provider",),
           "rate", "Provider attempts that did not fail / attempts, by UTC hour (period = the mart's hour).",
           numerator_sql="attempts - failed_attempts"),
    # ---- cost reconciliation and model substitution (identity, #11)
    Metric("billed_to_list_ratio", "cost_reconciliation_daily", "logged_usd", "estimated_usd", ("model", "provider"),
           "rate", "Logged cost / list-price estimate of requests that have both (below 1 = discount or BYOK, above = mark-up).",
           extra={"requests": "requests"}),
    Metric("substitution_rate", "model_substitution_daily", "substituted_requests", "requests",
           ("app", "model_requested", "model"), "rate",
           "Requests served by another model than they asked for / requests that say which model they asked for.",
           numerator_sql="CASE WHEN substituted THEN requests ELSE 0 END"),
    Metric("requested_model_requests", "model_substitution_daily", "requests", None, ("app", "model_requested", "model"),
           "count", "Requests by requested and served model (with shares: of the requested model's requests)."),
    # ---- data policy
    Metric("policy_tokens", "policy_exposure_daily", "total_tokens", None, ("app", "provider", *POLICY_ATTRIBUTES), "tokens",
           "Input + output tokens sent to providers (slice by a catalogue attribute; share = of the period's tokens).",
           numerator_sql="input_tokens + output_tokens", extra={"requests": "requests"}),
    # ---- users and sessions
    Metric("single_provider_share", "vendor_concentration_monthly", "single_provider_tokens", "total_tokens", ("app",),
           "rate", "Tokens on models only one provider served to the app that month / all its tokens (no failover)."),
    Metric("failover_coverage", "vendor_concentration_monthly", "failover_covered_requests", "requests", ("app",),
           "rate", "Requests whose model had at least two providers in the gateway that day / all requests."),
    Metric("batch_window_share", "load_profile_daily", "batch_window_requests", "requests", (), "rate",
           "Requests in the batch window (GATEWAYLENS_BATCH_WINDOW_*_HOUR, UTC) / all requests."),
    Metric("cost_per_active_user", "user_activity_daily", "cost_usd", "active_users", ("app",), "usd",
           "Cost of identified users / active users (over several days: cost per user-day).",
           extra={"requests": "requests", "new_users": "new_users", "tokens": "tokens"}),
    Metric("requests_per_session", "session_summary_daily", "session_requests", "sessions", ("app",), "count",
           "Requests in sessions / sessions (mean; the mart also keeps p50/p90)."),
    Metric("session_coverage", "session_summary_daily", "session_requests", "requests", ("app",), "rate",
           "Requests that carry a session_id / requests."),
    # ---- cache
    Metric("cache_hit_rate", "cache_daily", "cached_tokens", "input_tokens_reporting", ALL_DIMS, "rate",
           "Cached prompt tokens read / prompt tokens of requests whose provider reports caching.",
           extra={"cache_write_tokens": "cache_write_tokens", "savings_usd": "savings_usd",
                  "cache_read_savings_usd": "cache_read_savings_usd", "cache_write_premium_usd": "cache_write_premium_usd"}),
    Metric("cache_savings_usd", "cache_daily", "savings_usd", None, ALL_DIMS, "usd",
           "Net savings of caching at list price: cached reads against uncached input, minus the cache-write premium, USD."),
    Metric("cache_write_premium_usd", "cache_daily", "cache_write_premium_usd", None, ALL_DIMS, "usd",
           "What cache writes cost above uncached input at list price (Anthropic: 1.25x input), USD."),
    # ---- errors and latency
    Metric("errors", "errors_daily", "errors", None, ("model", "provider", "error_type", "http_status"), "count",
           "Failed requests (what users saw), by error class; the rate's denominator is metric 'requests'."),
    Metric("rescued_rate", "provider_uptime_hourly", "failovers_out", "failed_attempts", ("provider",), "rate",
           "Failed attempts whose request still succeeded at another provider / failed attempts (failures users never saw)."),
)

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


def metric_sql(
    names: Sequence[str],
    *,
    by: Sequence[str] = (),
    where: str = "TRUE",
    period: str | None = None,
    order: Sequence[str] | None = None,
    having_denominator: bool = False,
    shares: bool | Sequence[str] = False,
) -> str:
    """ONE SELECT computing the named metrics (all on the same mart), grouped by ``by``.

    ``period`` is a fixed SQL expression over ``day`` (from an allow-list such as
    ``filters.bucket``); it becomes the first column ``period``. ``where`` is fixed text whose
    values are bind parameters. ``having_denominator`` drops groups whose first metric has a zero
    denominator (e.g. models that never report reasoning). ``shares`` adds ``<metric>_share``
    for totals: the group's part of its period's total (of the whole selection without a period);
    a sequence of dimensions (from ``by``) makes it the share within those, e.g. ``("app",)`` = of
    the app's total.
    """
    if not names:
        raise ValueError("metric_sql needs at least one metric")
    ms = [metric(n) for n in names]
    table = ms[0].table
    if any(m.table != table for m in ms):
        raise ValueError(f"metrics {list(names)} are on different marts; query them separately")
    for dim in by:
        if not all(dim in m.dimensions for m in ms):
            raise ValueError(f"dimension {dim!r} is not a dimension of every metric in {list(names)}")
    cols: list[str] = []
    if period is not None:
        cols.append(f"{period} AS period")
    cols += list(by)
    seen: dict[str, str] = {}
    share_cols: list[str] = []
    for m in ms:
        for col, expr in m.parts():
            if col not in seen:
                seen[col] = expr
                cols.append(f"sum({expr}) AS {col}")
        if m.denominator is not None:
            cols.append(f"sum({m.numerator_sql or m.numerator}) / nullif(sum({m.denominator_sql or m.denominator}), 0) AS {m.name}")
        elif shares:
            within = [] if shares is True else list(shares)
            if any(d not in by for d in within):
                raise ValueError(f"shares within {within}: each must be one of by={list(by)}")
            keys = (["period"] if period is not None else []) + within
            over = f"OVER (PARTITION BY {', '.join(keys)})" if keys else "OVER ()"
            share_cols.append(f"{m.numerator} / nullif(sum({m.numerator}) {over}, 0) AS {m.numerator}_share")
    group = "GROUP BY ALL" if (period is not None or by) else ""
    having = ""
    if having_denominator and ms[0].denominator is not None:
        having = f"HAVING sum({ms[0].denominator_sql or ms[0].denominator}) > 0"
    keys = list(order) if order is not None else (["period"] if period is not None else []) + list(by)
    order_sql = f"ORDER BY {', '.join(keys)}" if keys else ""
    inner = " ".join(p for p in [f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", group, having] if p)
    if share_cols:  # window over the grouped rows: computed on the aggregate, outside it
        return " ".join(p for p in [f"SELECT *, {', '.join(share_cols)} FROM ({inner})", order_sql] if p)
    return " ".join(p for p in [inner, order_sql] if p)


def describe() -> list[dict[str, str]]:
    """The registry as rows (for docs and the SQL console): name, mart, numerator, denominator, dimensions, unit."""
    return [
        {
            "metric": m.name,
            "mart": m.table,
            "numerator": f"sum({m.numerator_sql or m.numerator})",
            "denominator": "" if m.denominator is None else f"sum({m.denominator_sql or m.denominator})",
            "dimensions": ", ".join(m.dimensions),
            "unit": m.unit,
            "description": m.description,
        }
        for m in _METRICS
    ]
