"""Post-processing of usage_anomalies_daily and spend_forecast (pure Python; see their SQL headers).

Both model a subject's daily total on the log scale, ``log(1 + value) ~ 1 + trend [+ weekday]``
over the ``anomaly_baseline_days`` before (the same weekday-aware baseline fit as
:mod:`gatewaylens.changepoints`, weights 1): a spike is an anomaly when its standardised residual
passes the two-sided normal quantile of ``anomaly_false_alarm_rate``; a month's spend is
month-to-date plus the expected remaining days (lognormal interval).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from gatewaylens import changepoints as cp
from gatewaylens.config import MartSettings, settings

MIN_POINTS = 14


def score_anomalies(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    """Fill expected / interval / score / anomaly of usage_anomalies_daily rows (every row of a series
    is scored against the days before it)."""
    if rows.is_empty():
        return rows
    z_thr = float(stats.norm.isf(cfg.anomaly_false_alarm_rate / 2))
    # a subject is active on a day with requests; each baseline starts at its first active day
    active = (rows.filter(pl.col("metric") == "requests")
              .select("day", "dimension", "subject", active=pl.col("value") > 0))
    parts = []
    for _, g in (rows.join(active, on=["day", "dimension", "subject"], how="left")
                 .sort("day").group_by(["dimension", "subject", "metric"], maintain_order=True)):
        days = np.array([cp._ordinal(d) for d in g["day"].to_list()], dtype=np.int64)
        y = np.log1p(np.maximum(g["value"].to_numpy().astype(float), 0.0))
        fits = cp.rolling_fits(days, y, np.ones(len(y)), cfg.anomaly_baseline_days, 0, MIN_POINTS, 0.05,
                               active=g["active"].fill_null(False).to_numpy())
        sd = np.sqrt(fits.s2 + fits.var_mean)
        q = stats.t.ppf(0.975, np.maximum(np.nan_to_num(fits.df, nan=1.0), 1))
        z = fits.z(y, np.ones(len(y)))
        scored = np.isfinite(fits.pred)
        parts.append(g.with_columns(
            expected=pl.Series(np.where(scored, np.expm1(fits.pred), np.nan)).fill_nan(None),
            expected_low=pl.Series(np.where(scored, np.maximum(np.expm1(fits.pred - q * sd), 0.0), np.nan)).fill_nan(None),
            expected_high=pl.Series(np.where(scored, np.expm1(fits.pred + q * sd), np.nan)).fill_nan(None),
            score=pl.Series(np.where(scored, z, np.nan)).fill_nan(None),
            anomaly=pl.Series([bool(abs(v) > z_thr) if s else None for v, s in zip(z, scored)], dtype=pl.Boolean),
        ))
    return pl.concat(parts).select(rows.columns).sort("day", "dimension", "subject", "metric")


def load_budgets(path: Path | None) -> dict[str, float]:
    """{app: monthly_usd} from the GATEWAYLENS_BUDGETS CSV (empty when unset)."""
    if path is None:
        return {}
    path = Path(path)
    if not path.exists():
        raise ValueError(f"GATEWAYLENS_BUDGETS: no file at {path}")
    frame = pl.read_csv(path, schema_overrides={"app": pl.String, "monthly_usd": pl.Float64})
    missing = {"app", "monthly_usd"} - set(frame.columns)
    if missing:
        raise ValueError(f"GATEWAYLENS_BUDGETS {path}: missing column(s) {sorted(missing)} (expected app,monthly_usd)")
    return {r["app"]: float(r["monthly_usd"]) for r in frame.iter_rows(named=True) if r["monthly_usd"] is not None}


def forecast_spend(rows: pl.DataFrame, cfg: MartSettings, budgets: dict[str, float] | None = None) -> pl.DataFrame:
    """Fill the forecast and budget columns of spend_forecast rows.

    Remaining days of the month: daily log(1 + cost) ~ N(prediction, s2 + var(prediction)) from the
    fit over the ``anomaly_baseline_days`` up to the row's day; the month's remaining total has the
    sum of the daily lognormal means and a variance = independent daily noise + fully correlated
    parameter error; its 95% interval comes from a lognormal with those two moments."""
    if rows.is_empty():
        return rows
    budgets = load_budgets(settings().budgets) if budgets is None else budgets
    parts = []
    for (app,), g in rows.sort("day").group_by(["app"], maintain_order=True):
        days = np.array([cp._ordinal(d) for d in g["day"].to_list()], dtype=np.int64)
        cost = np.maximum(g["day_cost_usd"].fill_null(0.0).to_numpy().astype(float), 0.0)
        mtd = g["month_to_date_usd"].fill_null(0.0).to_numpy().astype(float)
        left = (g["days_in_month"].to_numpy() - np.array([cp.to_date(int(d)).day for d in days])).astype(int)
        fits = cp.rolling_fits(days, np.log1p(cost), np.ones(len(days)), cfg.anomaly_baseline_days, -1, MIN_POINTS,
                               0.05, horizon=31)
        mu, v = fits.ahead_pred, fits.ahead_var
        s2 = fits.s2[:, None]
        mask = np.arange(1, 32)[None, :] <= left[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            mean_d = np.maximum(np.exp(mu + (s2 + v) / 2) - 1, 0.0)
            noise = (np.exp(s2) - 1) * (mean_d + 1) ** 2
            m = np.where(mask, mean_d, 0.0).sum(axis=1)
            var = np.where(mask, noise, 0.0).sum(axis=1) + np.where(mask, (mean_d + 1) * np.sqrt(v), 0.0).sum(axis=1) ** 2
            sig2 = np.log1p(var / np.maximum(m, 1e-12) ** 2)
            mu_t = np.log(np.maximum(m, 1e-12)) - sig2 / 2
            low = np.where(m > 0, np.exp(mu_t - 1.959964 * np.sqrt(sig2)), 0.0)
            high = np.where(m > 0, np.exp(mu_t + 1.959964 * np.sqrt(sig2)), 0.0)
        scored = np.isfinite(m) & np.isfinite(fits.pred)
        budget = budgets.get(app)
        runout = [
            _runout(days, mtd, i, mean_d[i, : left[i]] if scored[i] else None, budget) for i in range(len(days))
        ]
        parts.append(g.with_columns(
            forecast_usd=pl.Series(np.where(scored, mtd + m, np.nan)).fill_nan(None),
            forecast_low_usd=pl.Series(np.where(scored, mtd + low, np.nan)).fill_nan(None),
            forecast_high_usd=pl.Series(np.where(scored, mtd + high, np.nan)).fill_nan(None),
            budget_usd=pl.lit(budget, dtype=pl.Float64),
            budget_used_share=(pl.col("month_to_date_usd") / budget) if budget else pl.lit(None, dtype=pl.Float64),
            budget_runout_day=pl.Series(runout, dtype=pl.Date),
        ))
    return pl.concat(parts).select(rows.columns).sort("day", "app")


def _runout(days: np.ndarray, mtd: np.ndarray, i: int, path: np.ndarray | None, budget: float | None) -> dt.date | None:
    if not budget:
        return None
    if mtd[i] >= budget:  # already spent: the day it crossed, within this month
        month = cp.to_date(int(days[i])).replace(day=1)
        j = i
        while j > 0 and mtd[j - 1] >= budget and cp.to_date(int(days[j - 1])) >= month:
            j -= 1
        return cp.to_date(int(days[j]))
    if path is None:
        return None
    cum = mtd[i] + np.cumsum(path)
    hit = np.flatnonzero(cum >= budget)
    return cp.to_date(int(days[i] + 1 + hit[0])) if len(hit) else None
