"""provider_regressions' post-processing: the daily pair series -> the changes known on each day.

Input: the rows of ``sql/provider_regressions.sql`` run alone — one per (day, model, provider,
metric) with the day's value in ``current_value`` and its observations in
``current_observations``, over the bound days plus ``regression_history_days`` before. Output:
the same columns, one row per (as-of day, change) — see the SQL header and
:mod:`gatewaylens.changepoints` for the method. The runner keeps the bound days.
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl

from gatewaylens import changepoints as cp
from gatewaylens.config import MartSettings

# +1: up is worse for users, -1: down is worse, 0: neither (a change worth knowing, not a regression)
WORSE_WHEN: dict[str, int] = {
    "tool_call_rate": -1,
    "error_rate": 1,
    "p95_latency_ms": 1,
    "median_ttft_ms": 1,
    "reasoning_share": 0,
    "output_tokens_per_request": 0,
    "cost_per_request": 1,
}
RESOLVED_SHOWN_DAYS = 14  # a resolved change stays listed this many days


# metrics whose changes are multiplicative (a slower stack, longer answers): detected on log values
LOG_METRICS = frozenset({"p95_latency_ms", "median_ttft_ms", "output_tokens_per_request", "cost_per_request"})


def detector_settings(cfg: MartSettings) -> cp.DetectorSettings:
    return cp.DetectorSettings(
        false_alarm_rate=cfg.regression_false_alarm_rate,
        min_relative_change=cfg.regression_min_relative_change,
    )


def _nan_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def detect_all(rows: pl.DataFrame, det: cp.DetectorSettings) -> tuple[dict, dict]:
    """({(model, provider, metric): Series}, {(model, metric): [Finding]}) over the rows."""
    series: dict[tuple[str, str, str], cp.Series] = {}
    for (model, provider, metric), g in rows.group_by(["model", "provider", "metric"], maintain_order=True):
        series[(model, provider, metric)] = cp.Series.of(
            g["day"].to_list(), g["current_value"].to_list(), g["current_observations"].to_list(), det.min_weight
        )
    groups: dict[tuple[str, str], dict[str, cp.Series]] = {}
    for (model, provider, metric), s in series.items():
        groups.setdefault((model, metric), {})[provider] = s
    found = {k: cp.detect_group(g, det, log=k[1] in LOG_METRICS) for k, g in groups.items()}
    return series, {k: v for k, v in found.items() if v}


def score_regressions(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    """The registry's post-processing step of provider_regressions."""
    schema = rows.schema
    if rows.is_empty():
        return rows
    det = detector_settings(cfg)
    series, findings = detect_all(rows, det)
    days = sorted({cp._ordinal(d) for d in rows["day"].unique().to_list()})
    out: list[dict] = []
    for (model, metric), found in findings.items():
        log = metric in LOG_METRICS
        for f in found:
            c, provider = f.change, f.provider
            own = series[(model, provider, metric)]
            ana = cp.to_analysis(own, log)
            cache: dict[int, tuple] = {}
            for day in days:
                if day < c.detected:
                    continue
                if c.resolved is not None and day - c.resolved >= RESOLVED_SHOWN_DAYS:
                    break
                if c.onset - det.baseline_days < day - cfg.regression_history_days:
                    break  # its baseline left the history: the new normal
                end = min(c.onset + det.current_days - 1, day)
                if end not in cache:
                    cache[end] = cp.as_of(own, ana, c, day, det, log)
                current, p_value, n = cache[end]
                base = c.baseline[0]
                delta = current[0] - base
                worse = WORSE_WHEN.get(metric, 0)
                out.append({
                    "day": cp.to_date(day),
                    "model": model,
                    "provider": provider,
                    "metric": metric,
                    "onset_day": cp.to_date(c.onset),
                    "detected_day": cp.to_date(c.detected),
                    "baseline_value": _nan_none(base),
                    "baseline_low": _nan_none(c.baseline[1]),
                    "baseline_high": _nan_none(c.baseline[2]),
                    "current_value": _nan_none(current[0]),
                    "current_low": _nan_none(current[1]),
                    "current_high": _nan_none(current[2]),
                    "current_observations": n,
                    "delta": _nan_none(delta),
                    "relative_delta": _nan_none(delta / base) if base else None,
                    "p_value": _nan_none(p_value),
                    "direction": "up" if c.direction > 0 else "down",
                    "worse": None if worse == 0 else bool(np.sign(c.direction) == worse),
                    "attribution": f.attribution,
                    "other_providers": json.dumps(f.others, sort_keys=True),
                    "status": "resolved" if c.resolved is not None and c.resolved <= day else "open",
                    "resolved_day": cp.to_date(c.resolved) if c.resolved is not None and c.resolved <= day else None,
                    "cusum": float(c.statistic),
                    "threshold": float(det.threshold_for(det.false_alarm_rate / (1 if f.signal == "own" else 2))),
                })
    if not out:
        return rows.clear()
    return pl.DataFrame(out, schema=schema).sort("day", "model", "provider", "metric", "onset_day")


def distinct_changes(con) -> pl.DataFrame:
    """Every distinct change of provider_regressions (its state on the last as-of day it is listed)."""
    return con.sql("""
        SELECT * FROM provider_regressions
        QUALIFY row_number() OVER (PARTITION BY model, provider, metric, onset_day ORDER BY day DESC) = 1
        ORDER BY onset_day, model, provider, metric
    """).pl()


# provider_regressions.metric -> the observations column of provider_metrics_daily that weighs it
WEIGHTS = {
    "tool_call_rate": "successful_requests", "error_rate": "requests", "p95_latency_ms": "successful_requests",
    "median_ttft_ms": "ttft_requests", "reasoning_share": "reasoning_requests",
    "output_tokens_per_request": "successful_requests", "cost_per_request": "cost_requests",
}


def scored_pair_metric_days(con, cfg: MartSettings | None = None) -> int:
    """Pair-metric-days the detector scored (a day with enough observations and a baseline behind
    it): the denominator of the false-alarm rate, read from provider_metrics_daily."""
    from gatewaylens.config import mart_settings

    det = detector_settings(cfg or mart_settings())
    daily = con.sql("SELECT * FROM provider_metrics_daily ORDER BY day").pl()
    total = 0
    for _, g in daily.group_by(["model", "provider"]):
        for metric, weight in WEIGHTS.items():
            s = cp.to_analysis(cp.Series.of(g["day"].to_list(), g[metric].to_list(), g[weight].to_list(), det.min_weight),
                               metric in LOG_METRICS)
            total += int(np.isfinite(cp.rolling_z(s, det)).sum()) if len(s.days) else 0
    return total


def score_against_truth(found: pl.DataFrame, events: list[dict], tolerance_days: int = 7) -> dict:
    """Detections against truth.json's ``regression_events``.

    A change is a true positive when its (model, provider) is one an event touched, its metric is one
    the event moves by design and its onset is within ``tolerance_days`` of the event's onset;
    every other change counts against precision. Recall is over the events' (pair, metric)s and,
    looser, over their pairs (any declared metric)."""
    import datetime as dt

    targets = [
        (e["model"], p, m, dt.date.fromisoformat(e["onset_day"]), e["attribution"])
        for e in events for p in e["providers"] for m in e["metrics"]
    ]
    tp, errors, delays, attributed = 0, [], [], 0
    hit_targets: set = set()
    false_by_metric: dict[str, int] = {}
    false_by_attribution: dict[str, int] = {}
    by_attribution: dict[str, int] = {}
    for r in found.iter_rows(named=True):
        by_attribution[r["attribution"]] = by_attribution.get(r["attribution"], 0) + 1
        match = [t for t in targets if (t[0], t[1], t[2]) == (r["model"], r["provider"], r["metric"])
                 and abs((r["onset_day"] - t[3]).days) <= tolerance_days]
        if not match:
            false_by_metric[r["metric"]] = false_by_metric.get(r["metric"], 0) + 1
            false_by_attribution[r["attribution"]] = false_by_attribution.get(r["attribution"], 0) + 1
            continue
        tp += 1
        t = match[0]
        if (t[0], t[1], t[2]) not in hit_targets:
            errors.append(abs((r["onset_day"] - t[3]).days))
            delays.append((r["detected_day"] - t[3]).days)
        hit_targets.add((t[0], t[1], t[2]))
        attributed += r["attribution"] == t[4]
    pairs = {(t[0], t[1]) for t in targets}
    hit_pairs = {(m, p) for m, p, _ in hit_targets}
    return {
        "changes": found.height,
        "true_positives": tp,
        "precision": tp / found.height if found.height else None,
        "recall_pair_metric": len(hit_targets) / len(targets) if targets else None,
        "recall_pair": len(hit_pairs) / len(pairs) if pairs else None,
        "onset_error_days_mean": float(np.mean(errors)) if errors else None,
        "onset_error_days_max": int(max(errors)) if errors else None,
        "detection_delay_days_mean": float(np.mean(delays)) if delays else None,
        "attribution_correct": attributed / tp if tp else None,
        "false_by_metric": dict(sorted(false_by_metric.items())),
        "by_attribution": dict(sorted(by_attribution.items())),
        "false_by_attribution": dict(sorted(false_by_attribution.items())),
    }
