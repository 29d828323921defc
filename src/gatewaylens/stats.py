"""Statistics for provider variance that DuckDB lacks (normal CDF, sequential outlier exclusion).

The heavy aggregation stays in SQL (``sql/provider_variance*.sql``); this module reads the small
per-(day, model, provider) aggregate of the bound days, computes for each metric

* the **reference** of each pair: the model's other providers, minus outlier providers found by
  sequential exclusion (most significant leave-one-out test first, Bonferroni within the model,
  only while >= 3 providers remain, so a majority defines "normal");
* ``p_value``: two-sided pooled two-proportion z-test, pair vs pooled reference;
* ``p_adjusted``: Holm step-down correction over all pairs of the same day (family-wise error
  rate <= alpha per day and metric);
* ``flagged``: ``p_adjusted < alpha`` and ``|delta| >= practical_threshold``;

and returns the mart's rows with those columns filled (:func:`score_provider_variance`, the
mart's post-processing step in the registry; the runner writes the result).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl


def wilson_interval(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """Wilson score interval of x successes in n trials (None when n = 0)."""
    if n <= 0:
        return None
    p = x / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (normal approximation)."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # both samples all-zero or all-one: no evidence of a difference
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))  # = 2 * (1 - Phi(|z|)), the normal survival function twice


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class PairScore:
    provider: str
    reference: list[str]
    other_x: int | None
    other_n: int | None
    other_rate: float | None
    delta: float | None
    p_value: float | None


def score_model(
    providers: Sequence[str], x: Sequence[int], n: Sequence[int], *,
    alpha: float, threshold: float, min_n: int,
) -> list[PairScore]:
    """Reference, delta and p-value for each provider of one model (one day or window)."""
    k = len(providers)

    def test(i: int, ref: list[int]) -> tuple[int, int, float | None, float | None, float | None]:
        xr, nr = sum(x[j] for j in ref), sum(n[j] for j in ref)
        if not ref or nr == 0 or n[i] == 0:
            return xr, nr, None, None, None
        other = xr / nr
        delta = x[i] / n[i] - other
        p = two_proportion_p(x[i], n[i], xr, nr) if n[i] >= min_n and nr >= min_n else None
        return xr, nr, other, delta, p

    excluded: set[int] = set()
    while True:
        active = [i for i in range(k) if i not in excluded]
        if len(active) < 3:
            break
        best, best_p = None, None
        for i in active:
            _, _, _, delta, p = test(i, [j for j in active if j != i])
            if p is None or delta is None or abs(delta) < threshold or p >= alpha / len(active):
                continue
            if best_p is None or p < best_p:
                best, best_p = i, p
        if best is None:
            break
        excluded.add(best)

    out = []
    for i in range(k):
        ref = [j for j in range(k) if j != i and j not in excluded]
        xr, nr, other, delta, p = test(i, ref)
        out.append(PairScore(providers[i], [providers[j] for j in ref], xr if ref else None,
                             nr if ref else None, other, delta, p))
    return out


def score_frame(frame: pl.DataFrame, x_col: str, n_col: str, *, alpha: float, threshold: float, min_n: int) -> pl.DataFrame:
    """Score one metric for a frame with columns day, model, provider, x_col, n_col.

    Returns day, model, provider, reference_providers, other_x, other_n, other_rate, delta,
    p_value, p_adjusted, flagged (Holm per day over all pairs with a p-value)."""
    ordered = frame.sort("day", "model", "provider")
    days, models, providers = ordered["day"].to_list(), ordered["model"].to_list(), ordered["provider"].to_list()
    xs, ns = ordered[x_col].to_list(), ordered[n_col].to_list()
    rows = []
    start = 0
    for end in range(1, len(days) + 1):  # one (day, model) group = a run of consecutive sorted rows
        if end < len(days) and days[end] == days[start] and models[end] == models[start]:
            continue
        scores = score_model(providers[start:end], xs[start:end], ns[start:end],
                             alpha=alpha, threshold=threshold, min_n=min_n)
        for s in scores:
            rows.append({"day": days[start], "model": models[start], "provider": s.provider,
                         "reference_providers": ",".join(s.reference) or None,
                         "other_x": s.other_x, "other_n": s.other_n, "other_rate": s.other_rate,
                         "delta": s.delta, "p_value": s.p_value})
        start = end
    schema = {"day": pl.Date, "model": pl.String, "provider": pl.String, "reference_providers": pl.String,
              "other_x": pl.Int64, "other_n": pl.Int64, "other_rate": pl.Float64, "delta": pl.Float64,
              "p_value": pl.Float64}
    out = pl.DataFrame(rows, schema=schema)
    adjusted: list[float | None] = [None] * out.height
    p_list = out["p_value"].to_list()
    tested_by_day: dict = defaultdict(list)  # day -> rows with a p-value
    for i, (d, p) in enumerate(zip(out["day"].to_list(), p_list)):
        if p is not None:
            tested_by_day[d].append(i)
    for idx in tested_by_day.values():
        for i, a in zip(idx, holm([p_list[i] for i in idx])):
            adjusted[i] = a
    out = out.with_columns(p_adjusted=pl.Series(adjusted, dtype=pl.Float64))
    return out.with_columns(
        flagged=(pl.col("p_adjusted") < alpha) & (pl.col("delta").abs() >= threshold)
    ).with_columns(pl.col("flagged").fill_null(False))


# Output column of the mart <- column of score_frame's result (tool-call metric; "_err" = error metric).
SCORE_COLUMNS: dict[str, str] = {
    "reference_providers": "reference_providers",
    "other_successful_requests": "other_n",
    "other_tool_call_requests": "other_x",
    "other_tool_call_rate": "other_rate",
    "rate_delta": "delta",
    "p_value": "p_value",
    "p_adjusted": "p_adjusted",
    "flagged": "flagged",
    "other_requests": "other_n_err",
    "other_error_requests": "other_x_err",
    "other_error_rate": "other_rate_err",
    "error_rate_delta": "delta_err",
    "error_p_value": "p_value_err",
    "error_p_adjusted": "p_adjusted_err",
    "error_flagged": "flagged_err",
}


def score_provider_variance(frame: pl.DataFrame, cfg) -> pl.DataFrame:
    """The post-processing step of provider_variance(_daily): fill the comparison columns of the
    SQL's rows (same rows, same columns, same order). Pure: runs on the driver over the collected
    rows whatever the engine. ``cfg`` is a :class:`gatewaylens.config.MartSettings`."""
    if frame.is_empty():
        return frame
    kw = {"alpha": cfg.alpha, "threshold": cfg.practical_threshold, "min_n": cfg.min_requests}
    keys = ["day", "model", "provider"]
    tool = score_frame(frame, "tool_call_requests", "successful_requests", **kw)
    err = score_frame(frame, "error_requests", "requests", **kw)
    scores = tool.join(err, on=keys, suffix="_err").select(
        *keys, *[pl.col(src).alias(f"_s_{dst}") for dst, src in SCORE_COLUMNS.items()]
    )
    joined = frame.join(scores, on=keys, how="left", maintain_order="left")
    return joined.with_columns(
        [pl.col(f"_s_{c}").cast(frame.schema[c]).alias(c) for c in SCORE_COLUMNS]
    ).select(frame.columns)
