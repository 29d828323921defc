"""Read side of provider_regressions for the change-point markers of the time-series pages."""

from __future__ import annotations

import polars as pl

from dashboards.charts import data
from dashboards.charts.filters import Filters
from gatewaylens.regressions import WEIGHTS

# provider_regressions.metric -> (value, observations) columns of provider_metrics_daily (allow-list)
METRIC_COLUMNS = {metric: (metric, weight) for metric, weight in WEIGHTS.items()}
COLUMNS = {
    "tool_call_rate": ("tool_call_rate", "successful_requests"),
    "error_rate": ("error_rate", "requests"),
    "p95_latency_ms": ("p95_latency_ms", "successful_requests"),
    "median_ttft_ms": ("median_ttft_ms", "ttft_requests"),
    "reasoning_share": ("reasoning_share", "reasoning_requests"),
    "output_tokens_per_request": ("output_tokens_per_request", "successful_requests"),
    "cost_per_request": ("cost_per_request", "cost_requests"),
}
COLUMNS = {"onset_day": pl.Date, "detected_day": pl.Date, "model": pl.String, "provider": pl.String,
           "metric": pl.String, "direction": pl.String, "attribution": pl.String, "status": pl.String}


def changes_in_period(filters: Filters, metric: str, model: str | None = None) -> pl.DataFrame:
    """Distinct changes of ``metric`` whose onset lies in the period (selected models/providers;
    ``model`` narrows to one), each in its latest state; empty when the mart is not built."""
    if not data.has_table("provider_regressions"):
        return pl.DataFrame(schema=COLUMNS)
    dims = ("model", "provider")
    return data.query(
        "SELECT onset_day, detected_day, model, provider, metric, direction, attribution, status "
        f"FROM provider_regressions WHERE {filters.where(dims)} AND metric = $metric "
        "AND onset_day BETWEEN $start AND $end AND ($model IS NULL OR model = $model) "
        "QUALIFY row_number() OVER (PARTITION BY model, provider, metric, onset_day ORDER BY day DESC) = 1 "
        "ORDER BY onset_day, model, provider",
        {**filters.params(dims), "metric": metric, "model": model},
    )
