"""Change detection on daily series: weekday-aware baselines, CUSUM with a stated false-alarm
rate, onset estimates and attribution (pure Python + numpy/scipy; no DuckDB, Dagster or Streamlit).

Used by the marts ``provider_regressions`` (one metric of one model across its providers:
:func:`detect_group`), ``usage_anomalies_daily`` and ``spend_forecast`` (see docs/marts.md).

Baseline model (:func:`fit_baseline`, :func:`rolling_fits`)
    For a day ``d`` the baseline is the weighted least-squares fit, over the ``baseline_days``
    days that end ``guard_days`` before ``d``, of ``value ~ 1 + trend + weekday`` with weights
    = the day's observations (a rate over 400 requests counts 4x one over 100). The weekday
    dummies stay only when a partial F-test says the baseline has a weekly pattern
    (p < ``weekday_alpha``); the linear trend keeps adoption curves (the tool-call rate rising all
    year) from looking like changes. The residual variance per unit weight ``s2`` absorbs
    over-dispersion (app mix, batch nights): the variance of day ``d`` is ``s2 / w_d``.

Standardised residual (score)
    ``z_d = (x_d - prediction) / sqrt(s2 / w_d + var(prediction))``, a Student t with the fit's
    residual degrees of freedom, mapped to the normal scale (``Phi^-1(F_t(z))``).

Scans (:func:`detect_group`; :func:`detect_changes` for one series alone)
    Two-sided CUSUM on scores clipped to +-``z_clip``: ``S+ = max(0, S+ + z - k)``,
    ``S- = max(0, S- - z - k)``, ``k`` = ``cusum_k`` (0.5: tuned to shifts of one daily SD); the
    clip makes an alarm need several days (persistence). Alarm when a sum exceeds ``h``; ``h`` is
    calibrated by simulating the detector on unchanged series (:func:`calibrated_threshold`: the
    scores of neighbouring days share their baseline and are correlated, so Siegmund's textbook
    threshold, :func:`cusum_threshold`, would alarm too often). A model's providers are scanned on
    their peer-relative series (:func:`relative_series`: a model-wide move cancels) and together
    (:func:`model_z`), each scan at half the stated rate; an alarm is kept only when the shift
    tests (:func:`shift`) say who moved (see :func:`detect_group`). ``onset`` = the
    likelihood-ratio step estimate within the alarmed run (:func:`refine_onset`); ``detected`` =
    the alarm day. After a kept alarm a scan is quiet until its baseline window lies entirely
    after the onset (then a further change, or a relapse, can alarm again); an alarm against the
    direction its own baseline just moved is dropped as an echo (:func:`echo`).

Reported values
    ``baseline`` = weighted mean over the ``baseline_days`` before the onset, ``current`` = over
    the ``current_days`` from the onset (to the last day); 95% intervals from the weighted
    standard error and Student t; ``p_value`` = two-sided Stouffer test of the current window's
    own scores against the baseline fit ending the day before the onset.

Resolution
    A change is resolved on the first day after detection whose trailing 7-day weighted mean is
    back on the baseline side of the midpoint between ``baseline`` and ``current``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from pydantic import BaseModel, Field
from scipy import optimize, stats

EPOCH = dt.date(1970, 1, 1)


# calibrated_threshold(k, rate, baseline_days, guard_days, min_baseline_points, weekday_alpha) for the
# default settings, as computed by that function (tests/test_changepoints.py checks it still is).
PRECALIBRATED: dict[tuple, float] = {
    (0.5, 0.001, 28, 7, 14, 0.05, 4.0): 10.391379236056189,
    (0.5, 0.0005, 28, 7, 14, 0.05, 4.0): 12.020966391126413,
}


class DetectorSettings(BaseModel):
    """Parameters of the change detector (defaults documented in docs/marts.md)."""

    false_alarm_rate: float = Field(
        default=0.001, gt=0, lt=0.5,
        description="Expected false alarms per pair-metric-day on unchanged traffic (sets the CUSUM threshold).",
    )
    baseline_days: int = Field(default=28, ge=14, le=120, description="Length of the trailing baseline window, days.")
    guard_days: int = Field(default=7, ge=0, le=60, description="Gap between the baseline window and the day tested, days.")
    current_days: int = Field(default=14, ge=3, le=60, description="Days after the onset that make the reported current value.")
    cusum_k: float = Field(default=0.5, gt=0, le=2, description="CUSUM reference value (half the shift to detect, in daily SDs).")
    min_relative_change: float = Field(
        default=0.1, ge=0, description="Practical threshold: |current - baseline| must reach this share of |baseline|."
    )
    min_weight: float = Field(default=5, ge=1, description="Days with fewer observations are skipped.")
    min_baseline_points: int = Field(default=14, ge=5, description="Fewest baseline days with data to test a day.")
    weekday_alpha: float = Field(default=0.05, gt=0, lt=1, description="Partial F-test level that keeps the weekday terms.")
    attribution_alpha: float = Field(default=0.01, gt=0, lt=1, description="Level at which another provider 'moved'.")
    confirm_alpha: float = Field(default=0.01, gt=0, le=1, description="An alarm is kept when the shift test of "
                                 "[onset, detected] against the pre-onset baseline has p below this.")
    consistency: float = Field(default=0.75, ge=0, le=1, description="A provider 'moved' when, besides the "
                               "shift test, at least this share of the days from the onset are on the side of the change.")
    z_clip: float = Field(default=4.0, ge=1, le=8, description="Daily scores are clipped to +-z_clip before the CUSUM: "
                          "one day adds at most z_clip - k, so an alarm needs several days (persistence).")

    def calibration_key(self, rate: float | None = None) -> tuple:
        return (self.cusum_k, self.false_alarm_rate if rate is None else rate, self.baseline_days, self.guard_days,
                self.min_baseline_points, self.weekday_alpha, self.z_clip)

    def threshold_for(self, rate: float) -> float:
        """CUSUM threshold with ``rate`` false alarms per series-day (calibrated by simulation)."""
        key = self.calibration_key(rate)
        if key in PRECALIBRATED:  # the defaults: skip the few seconds of simulation (a test recomputes it)
            return PRECALIBRATED[key]
        return calibrated_threshold(*key)

    @property
    def threshold(self) -> float:
        return self.threshold_for(self.false_alarm_rate)


def siegmund_arl(k: float, h: float) -> float:
    """In-control ARL of a one-sided CUSUM on N(0,1) data (Siegmund's approximation)."""
    b = 2 * k * (h + 1.166)
    return (math.exp(b) - b - 1) / (2 * k * k)


def cusum_threshold(k: float, arl0: float) -> float:
    """The decision interval h whose one-sided in-control ARL is ``arl0``."""
    return float(optimize.brentq(lambda h: siegmund_arl(k, h) - arl0, 0.01, 100.0))


# ------------------------------------------------------------------------------------------
# baseline fit
# ------------------------------------------------------------------------------------------


@dataclass
class Fit:
    beta: np.ndarray
    cov_unit: np.ndarray  # (X'WX)^-1
    s2: float  # residual variance per unit weight
    df: int
    origin: int  # day ordinal of trend 0
    weekday: bool

    def design(self, days: np.ndarray) -> np.ndarray:
        return _design(days, self.origin, self.weekday)

    def predict(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prediction and its variance (of the expected value) for ``days``."""
        x = self.design(np.atleast_1d(days))
        pred = x @ self.beta
        var = self.s2 * np.einsum("ij,jk,ik->i", x, self.cov_unit, x)
        return pred, var

    def z(self, days: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Standardised residuals, mapped from Student t (fit df) to the normal scale."""
        pred, var = self.predict(days)
        t = (values - pred) / np.sqrt(self.s2 / weights + var)
        return np.clip(stats.norm.ppf(stats.t.cdf(t, self.df)), -8.0, 8.0)


def _design(days: np.ndarray, origin: int, weekday: bool) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    cols = [np.ones(len(days)), (days - origin) / 7.0]
    if weekday:
        wd = (days + 3) % 7  # 1970-01-01 was a Thursday: ordinal 0 -> weekday 3 (Mon = 0)
        cols += [(wd == j).astype(float) for j in range(1, 7)]
    return np.column_stack(cols)


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int] | None:
    sw = np.sqrt(w)
    xw, yw = x * sw[:, None], y * sw
    beta, _res, rank, _sv = np.linalg.lstsq(xw, yw, rcond=None)
    df = len(y) - x.shape[1]
    if rank < x.shape[1] or df < 3:
        return None
    resid = yw - xw @ beta
    s2 = float(resid @ resid) / df
    cov = np.linalg.pinv(xw.T @ xw)
    return beta, cov, s2, df


def fit_baseline(days: np.ndarray, values: np.ndarray, weights: np.ndarray, weekday_alpha: float = 0.05) -> Fit | None:
    """Weighted ``value ~ 1 + trend [+ weekday]`` over the given baseline days (None: too few)."""
    if len(days) < 5:
        return None
    origin = int(days[-1])
    base = _wls(_design(days, origin, False), values, weights)
    if base is None:
        return None
    use_weekday = False
    if len(np.unique((np.asarray(days) + 3) % 7)) == 7 and len(days) >= 14:
        full = _wls(_design(days, origin, True), values, weights)
        if full is not None:
            rss_b, rss_f = base[2] * base[3], full[2] * full[3]
            f = ((rss_b - rss_f) / 6) / max(rss_f / full[3], 1e-300)
            if stats.f.sf(f, 6, full[3]) < weekday_alpha:
                base, use_weekday = full, True
    beta, cov, s2, df = base
    s2 = max(s2, 1e-18)
    return Fit(beta=beta, cov_unit=cov, s2=s2, df=df, origin=origin, weekday=use_weekday)


# ------------------------------------------------------------------------------------------
# one series
# ------------------------------------------------------------------------------------------


@dataclass
class Series:
    """One daily series: day ordinals (ascending, unique), values and weights (observations)."""

    days: np.ndarray
    values: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, days, values, weights, min_weight: float = 1.0) -> "Series":
        d = np.asarray([_ordinal(x) for x in days], dtype=np.int64)
        v = np.asarray(values, dtype=float)
        w = np.asarray(weights, dtype=float)
        keep = np.isfinite(v) & np.isfinite(w) & (w >= min_weight)
        order = np.argsort(d[keep], kind="stable")
        return cls(d[keep][order], v[keep][order], w[keep][order])

    def window(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Days in [lo, hi] (ordinals, inclusive)."""
        a, b = np.searchsorted(self.days, lo, "left"), np.searchsorted(self.days, hi, "right")
        return self.days[a:b], self.values[a:b], self.weights[a:b]

    def fit(self, lo: int, hi: int, cfg: DetectorSettings) -> Fit | None:
        key = (lo, hi, cfg.min_baseline_points, cfg.weekday_alpha)
        cache = self.__dict__.setdefault("_fits", {})
        if key not in cache:
            d, v, w = self.window(lo, hi)
            cache[key] = fit_baseline(d, v, w, cfg.weekday_alpha) if len(d) >= cfg.min_baseline_points else None
        return cache[key]

    def mean_ci(self, lo: int, hi: int) -> tuple[float, float, float, int]:
        """Weighted mean over [lo, hi] with a 95% interval (Student t on the days)."""
        _, v, w = self.window(lo, hi)
        n = len(v)
        if n == 0:
            return math.nan, math.nan, math.nan, 0
        m = float(np.average(v, weights=w))
        if n < 2:
            return m, math.nan, math.nan, n
        se = math.sqrt(float(np.sum(w * (v - m) ** 2)) / ((n - 1) * float(np.sum(w))))
        q = float(stats.t.ppf(0.975, n - 1))
        return m, m - q * se, m + q * se, n


@dataclass
class Change:
    onset: int
    detected: int
    direction: int  # +1 up, -1 down
    statistic: float
    baseline: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    current: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    p_value: float = math.nan
    resolved: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def delta(self) -> float:
        return self.current[0] - self.baseline[0]


@dataclass
class RollingFits:
    """Per day of a series: the baseline prediction (on the series' scale), the variance of the
    predicted mean, the residual variance per unit weight and its degrees of freedom (NaN where
    the baseline window had too few days)."""

    pred: np.ndarray
    var_mean: np.ndarray
    s2: np.ndarray
    df: np.ndarray
    ahead_pred: np.ndarray | None = None  # (n, horizon): fit i at day i + 1 .. i + horizon
    ahead_var: np.ndarray | None = None

    def z(self, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Standardised residuals, mapped from Student t to the normal scale."""
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (values - self.pred) / np.sqrt(self.s2 / weights + self.var_mean)
            z = np.clip(stats.norm.ppf(stats.t.cdf(t, np.maximum(self.df, 1))), -8.0, 8.0)
        return np.where(np.isfinite(self.pred), z, np.nan)


def rolling_fits(days: np.ndarray, values: np.ndarray, weights: np.ndarray, baseline_days: int, guard_days: int,
                 min_points: int, weekday_alpha: float, horizon: int = 0,
                 active: np.ndarray | None = None) -> RollingFits:
    """The baseline fit of every day over [day - guard - baseline, day - guard - 1], all at once.

    Each window is computed from its own days only (values centred on the window's own weighted
    mean, trend measured from the day tested), so a day's result does not depend on what else the
    series holds: a nightly one-day build and a backfill give bit-identical numbers.
    ``horizon``: also each fit's predictions for the ``horizon`` days after its day.
    ``active`` (one flag per day): each window starts at its first active day — the days before it
    are left out (a zero-filled series whose start depends on how far back it was read)."""
    n = len(days)
    nan = np.full(n, np.nan)
    out = RollingFits(nan.copy(), nan.copy(), nan.copy(), nan.copy())
    if n == 0:
        return out
    d = np.asarray(days, dtype=np.int64)
    first = int(d[0])
    span = int(d[-1]) - first + 1
    L, g = baseline_days, guard_days
    pad = g + L  # grid position t's window starts at padded position t
    gw = np.zeros(span + pad)
    gy = np.zeros(span + pad)
    gw[d - first + pad] = np.asarray(weights, dtype=float)
    gy[d - first + pad] = np.asarray(values, dtype=float)
    t = d - first  # grid positions of the series' days
    W = np.lib.stride_tricks.sliding_window_view(gw, L)[t]  # (n, L)
    Y = np.lib.stride_tricks.sliding_window_view(gy, L)[t]
    if active is not None:
        ga = np.zeros(span + pad, dtype=bool)
        ga[d - first + pad] = np.asarray(active, dtype=bool)
        started = np.logical_or.accumulate(np.lib.stride_tricks.sliding_window_view(ga, L)[t], axis=1)
        W = W * started
    m = (W > 0).sum(axis=1)
    idx = np.flatnonzero(m >= max(min_points, 5))
    if len(idx) == 0:
        return out
    W, Y, m = W[idx], Y[idx], m[idx]
    sw = W.sum(axis=1)
    centre = (W * Y).sum(axis=1) / sw
    Yc = (Y - centre[:, None]) * (W > 0)
    k = np.arange(L)
    trend = (k - pad) / 7.0  # days before the tested day, in weeks
    wd = (d[idx][:, None] - pad + k[None, :] + 3) % 7  # weekday of each window day (Mon = 0)
    X = np.empty((len(idx), L, 8))
    X[:, :, 0] = 1.0
    X[:, :, 1] = trend[None, :]
    for j in range(1, 7):
        X[:, :, j + 1] = wd == j
    P = np.einsum("nl,nli,nlj->nij", W, X, X)
    q = np.einsum("nl,nli,nl->ni", W, X, Yc)
    r = np.einsum("nl,nl,nl->n", W, Yc, Yc)
    present = np.stack([((wd == j) & (W > 0)).any(axis=1) for j in range(7)], axis=1)

    def solve(kk: int):
        pk, qk = P[:, :kk, :kk], q[:, :kk]
        ridge = 1e-9 * (np.trace(pk, axis1=1, axis2=2)[:, None, None] + 1e-12) * np.eye(kk)
        cov = np.linalg.inv(pk + ridge)  # ridge: windows missing a weekday stay solvable (and unused)
        beta = np.einsum("nij,nj->ni", cov, qk)
        rss = np.maximum(r - np.einsum("ni,ni->n", beta, qk), 0.0)
        return beta, cov, rss, m - kk

    b2, c2, rss2, df2 = solve(2)
    b8, c8, rss8, df8 = solve(8)
    all_wd = present.all(axis=1) & (df8 >= 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((rss2 - rss8) / 6) / (rss8 / df8)
        p_wd = np.where(all_wd, stats.f.sf(f, 6, np.maximum(df8, 1)), 1.0)
    use8 = all_wd & (p_wd < weekday_alpha)
    df = np.where(use8, df8, df2).astype(float)
    s2 = np.maximum(np.where(use8, rss8, rss2) / np.maximum(df, 1), 1e-18)
    valid = df >= 3
    kv = idx[valid]

    def at(h: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((len(idx), 8))
        x[:, 0] = 1.0
        x[:, 1] = h / 7.0
        wdh = (d[idx] + h + 3) % 7
        for j in range(1, 7):
            x[:, j + 1] = wdh == j
        pred = np.where(use8, np.einsum("ni,ni->n", x, b8), np.einsum("ni,ni->n", x[:, :2], b2)) + centre
        var = s2 * np.where(use8, np.einsum("ni,nij,nj->n", x, c8, x), np.einsum("ni,nij,nj->n", x[:, :2], c2, x[:, :2]))
        return pred, var

    pred, var = at(0)
    out.pred[kv] = pred[valid]
    out.var_mean[kv] = var[valid]
    out.s2[kv] = s2[valid]
    out.df[kv] = df[valid]
    if horizon:
        out.ahead_pred = np.full((n, horizon), np.nan)
        out.ahead_var = np.full((n, horizon), np.nan)
        for h in range(1, horizon + 1):
            ph, vh = at(h)
            out.ahead_pred[kv, h - 1] = ph[valid]
            out.ahead_var[kv, h - 1] = vh[valid]
    return out


def rolling_z(series: Series, cfg: DetectorSettings) -> np.ndarray:
    """Standardised residual of every day against its own trailing baseline fit (NaN where the
    baseline has too few days)."""
    fits = rolling_fits(series.days, series.values, series.weights, cfg.baseline_days, cfg.guard_days,
                        cfg.min_baseline_points, cfg.weekday_alpha)
    return fits.z(series.values, series.weights)


def cusum_alarms(z: np.ndarray, k: float, h: float, quiet: np.ndarray | None = None) -> list[tuple[int, int, int, float]]:
    """Two-sided CUSUM over ``z`` (NaN = no test that day: sums restart). Returns
    (run start index, alarm index, direction, statistic); after an alarm the sums restart at the
    index ``quiet[alarm index]`` (default: the next day)."""
    alarms = []
    sp = sn = 0.0
    start = -1
    i, n = 0, len(z)
    while i < n:
        zi = z[i]
        if zi != zi:  # NaN
            sp = sn = 0.0
            start = -1
            i += 1
            continue
        sp, sn = max(0.0, sp + zi - k), max(0.0, sn - zi - k)
        if sp == 0.0 and sn == 0.0:
            start = -1
        elif start < 0:
            start = i
        if sp > h or sn > h:
            alarms.append((start, i, 1 if sp > h else -1, max(sp, sn)))
            sp = sn = 0.0
            start = -1
            i = int(quiet[i]) if quiet is not None else i + 1
            continue
        i += 1
    return alarms


def _count_alarms(zs: np.ndarray, k: float, h: float, clip: float = 8.0) -> int:
    """Alarms of :func:`cusum_alarms` (default restart) over the rows of ``zs``, all rows at once."""
    sp = np.zeros(zs.shape[0])
    sn = np.zeros(zs.shape[0])
    count = 0
    zs = np.clip(zs, -clip, clip)
    for j in range(zs.shape[1]):
        z = zs[:, j]
        ok = np.isfinite(z)
        zz = np.where(ok, z, 0.0)
        sp = np.where(ok, np.maximum(0.0, sp + zz - k), 0.0)
        sn = np.where(ok, np.maximum(0.0, sn - zz - k), 0.0)
        hit = (sp > h) | (sn > h)
        count += int(hit.sum())
        sp[hit] = 0.0
        sn[hit] = 0.0
    return count


@functools.lru_cache(maxsize=16)
def calibrated_threshold(k: float, rate: float, baseline_days: int, guard_days: int, min_baseline_points: int,
                         weekday_alpha: float, clip: float = 8.0, series: int = 200, days: int = 365,
                         seed: int = 20260101) -> float:
    """CUSUM decision interval h with ``rate`` false alarms per series-day, found by simulating
    this detector (rolling baseline fits, weekday test, t->normal mapping) on unchanged Gaussian
    series: the fit errors that neighbouring days share make the z's positively correlated, so
    the textbook (independent) threshold would alarm several times too often."""
    rng = np.random.default_rng(seed)
    cfg = DetectorSettings(baseline_days=baseline_days, guard_days=guard_days, min_baseline_points=min_baseline_points,
                           weekday_alpha=weekday_alpha, cusum_k=k, false_alarm_rate=rate, z_clip=clip)
    d = np.arange(days, dtype=np.int64)
    zs = np.array([rolling_z(Series(d, rng.standard_normal(days), np.ones(days)), cfg) for _ in range(series)])
    tested = int(np.isfinite(zs).sum())

    def excess(h: float) -> float:
        return _count_alarms(zs, k, h, clip) / tested - rate

    lo = cusum_threshold(k, 2.0 / rate)  # independent z's: a lower bound
    hi = lo
    while excess(hi) > 0:
        hi *= 1.25
    return float(optimize.brentq(excess, lo, hi, xtol=0.01)) if hi > lo else lo


def detect_changes(series: Series, cfg: DetectorSettings | None = None, log: bool = False) -> list[Change]:
    """Changes of one series on its own (a model with a single provider: the 'own' scan of
    :func:`detect_group`), in onset order."""
    return [f.change for f in detect_group({"": series}, cfg, log)]


# ------------------------------------------------------------------------------------------
# a model's providers together: who moved (relative to its peers) and what moved all of them
# ------------------------------------------------------------------------------------------


@dataclass
class Shift:
    """The days [onset, end] of one series against its baseline fit on the days before the onset."""

    z: float  # Stouffer Z of the days' standardised residuals
    p_value: float  # two-sided
    effect: float  # relative size: (observed - predicted) / |predicted| (log scale: exp(mean residual) - 1)
    residual: float  # weighted mean of observed - predicted (analysis scale)
    level: float  # weighted mean prediction (analysis scale)
    up_share: float = 0.5  # share of the days above their prediction

    def moved(self, direction: int, alpha: float, min_effect: float, consistency: float = 0.0) -> bool:
        """Significant (p < alpha), in ``direction``, at least ``min_effect`` of the level, and on at least
        ``consistency`` of the days (a step holds day after day; a heavy-tailed day or two does not)."""
        share = self.up_share if direction > 0 else 1 - self.up_share
        return bool(self.p_value < alpha and np.sign(self.z) == direction and direction * self.effect >= min_effect
                    and share >= consistency)

    def as_json(self, provider: str, moved: bool) -> dict:
        return {"provider": provider, "z": round(float(self.z), 3), "p_value": float(self.p_value),
                "relative_effect": round(float(self.effect), 4), "moved": bool(moved)}


def shift(series: Series, onset: int, end: int, cfg: DetectorSettings, log: bool) -> Shift | None:
    """:class:`Shift` of ``series`` (already on the analysis scale: log values when ``log``)."""
    fit = series.fit(onset - cfg.baseline_days, onset - 1, cfg)
    d, v, w = series.window(onset, end)
    if fit is None or len(d) == 0:
        return None
    z = fit.z(d, v, w)
    zs = float(z.sum() / math.sqrt(len(z)))
    pred, _ = fit.predict(d)
    resid = float(np.average(v - pred, weights=w))
    level = float(np.average(pred, weights=w))
    return Shift(zs, float(2 * stats.norm.sf(abs(zs))), relative_effect(resid, level, log), resid, level,
                 float(np.mean(z > 0)))


def relative_effect(residual: float, level: float, log: bool) -> float:
    """A shift as a share of the level it departs from (log scale: exp(residual) - 1)."""
    if log:
        return math.expm1(residual)
    return residual / abs(level) if level else math.copysign(math.inf, residual) if residual else 0.0


def echo(series: Series, onset: int, direction: int, cfg: DetectorSettings, log: bool) -> bool:
    """True when the baseline window before ``onset`` itself moved AGAINST ``direction`` (its second
    half differs from its first by the practical threshold, Welch p < confirm_alpha): a step inside a
    baseline tilts its trend, and the extrapolated trend then overshoots — an alarm the other way
    two to five weeks after an earlier change is that overshoot, not a change."""
    half = cfg.baseline_days // 2
    _, v1, w1 = series.window(onset - cfg.baseline_days, onset - half - 1)
    _, v2, w2 = series.window(onset - half, onset - 1)
    if len(v1) < 3 or len(v2) < 3:
        return False
    m1, m2 = float(np.average(v1, weights=w1)), float(np.average(v2, weights=w2))
    if direction * (m2 - m1) >= 0 or abs(relative_effect(m2 - m1, m1, log)) < cfg.min_relative_change:
        return False
    return bool(stats.ttest_ind(v1, v2, equal_var=False).pvalue < cfg.confirm_alpha)


@dataclass
class Finding:
    """One change of one provider of a model: the change (on the reported scale), how it was
    found ('relative': the provider against its peers; 'model': all providers together; 'own':
    a model with one provider), its attribution and every other provider's shift test."""

    provider: str
    change: Change
    signal: str
    attribution: str
    others: list[dict]


def to_analysis(series: Series, log: bool) -> Series:
    """The series on the detector's scale: log of positive values for multiplicative metrics."""
    if not log:
        return series
    keep = series.values > 0
    return Series(series.days[keep], np.log(series.values[keep]), series.weights[keep])


def _grid(group: dict[str, Series]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of days, values (NaN where missing) and weights (0 where missing), one row per provider."""
    days = np.unique(np.concatenate([s.days for s in group.values()]))
    y = np.full((len(group), len(days)), np.nan)
    w = np.zeros((len(group), len(days)))
    for i, s in enumerate(group.values()):
        at = np.searchsorted(days, s.days)
        y[i, at], w[i, at] = s.values, s.weights
    return days, y, w


def relative_series(group: dict[str, Series]) -> dict[str, Series]:
    """Each provider's value minus the weighted mean of its peers' values the same day, weighted by
    1 / (1/w_own + 1/w_peers) (the variance of a difference of two means). A change all providers
    share (a new model version, an adoption curve, a model-wide mix shift) cancels in it."""
    days, y, w = _grid(group)
    out = {}
    tot_w = w.sum(axis=0)
    tot_wy = np.nansum(np.where(w > 0, w * y, 0.0), axis=0)
    for i, name in enumerate(group):
        pw = tot_w - w[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            peer = (tot_wy - np.where(w[i] > 0, w[i] * y[i], 0.0)) / pw
            weight = w[i] * pw / (w[i] + pw)
        keep = (w[i] > 0) & (pw > 0)
        out[name] = Series(days[keep], (y[i] - peer)[keep], weight[keep])
    return out


def model_z(group: dict[str, Series], zs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Days and the weighted Stouffer combination sum(sqrt(w) z) / sqrt(sum w) of every provider's
    own standardised residual that day (the model's providers together; N(0, 1) when none moved)."""
    days, _, w = _grid(group)
    num = np.zeros(len(days))
    den = np.zeros(len(days))
    for i, (name, s) in enumerate(group.items()):
        z = zs[name]
        ok = np.isfinite(z)
        at = np.searchsorted(days, s.days[ok])
        num[at] += np.sqrt(s.weights[ok]) * z[ok]
        den[at] += s.weights[ok]
    keep = den > 0
    return days[keep], num[keep] / np.sqrt(den[keep])


def _scan(days: np.ndarray, z: np.ndarray, h: float, cfg: DetectorSettings, accept) -> list:
    """CUSUM over ``z`` (clipped to +-z_clip); each alarm (onset, detected, direction, statistic, run
    start) is passed to ``accept``, which returns a Finding, a list of them or None. After an accepted alarm the scan is quiet
    until the baseline window lies after the onset; after a rejected one it goes on the next day."""
    z = np.clip(z, -cfg.z_clip, cfg.z_clip)
    found, i0 = [], 0
    while i0 < len(days):
        alarms = cusum_alarms(z[i0:], cfg.cusum_k, h)
        if not alarms:
            break
        start, at, direction, stat = alarms[0]
        start, at = start + i0, at + i0
        onset = int(days[start + refine_onset(z[start:at + 1], direction)])
        got = accept(onset, int(days[at]), direction, stat, int(days[start]))
        if got is not None:
            found.append(got)
            onset = min(f.change.onset for f in got) if isinstance(got, list) else got.change.onset
            i0 = int(np.searchsorted(days, onset + cfg.guard_days + cfg.baseline_days, "left"))
        else:
            i0 = at + 1
    return found


def detect_group(group: dict[str, Series], cfg: DetectorSettings | None = None, log: bool = False) -> list[Finding]:
    """The changes of one metric of one model across its providers (``group``: provider -> daily
    series on the reported scale; ``log``: detect on log values, for multiplicative metrics).

    * relative: each provider's difference from its peers (:func:`relative_series`) is scanned
      against its own weekday-aware baseline; an alarm is kept when the provider ALSO moved the
      same way against its own baseline (shift test p < confirm_alpha and |effect| >=
      min_relative_change). attribution 'provider' when no other provider moved the same way,
      'unclear' when some did.
    * model: the Stouffer combination of the providers' own scores (:func:`model_z`) is scanned;
      an alarm is kept when at least two providers moved the same way against their own baselines,
      they carry at least half of the model's observations from the onset, and no provider moved
      significantly the other way: one finding per provider that moved, attribution 'model'.
    * own: a model with a single provider is scanned on its own series (attribution 'unclear').

    Each scan's threshold is calibrated to half the stated rate (relative + model = the rate per
    pair-metric-day; a model with one provider has one scan at the full rate)."""
    cfg = cfg or DetectorSettings()
    group = {p: s for p, s in group.items() if len(s.days)}
    if not group:
        return []
    ana = {p: to_analysis(s, log) for p, s in group.items()}
    last_day = max(int(s.days[-1]) for s in group.values())
    zs = {p: rolling_z(s, cfg) for p, s in ana.items()}

    def tests(onset: int, end: int, direction: int, skip: str | None = None) -> list[tuple[str, Shift | None, bool]]:
        out = []
        for p, s in ana.items():
            if p == skip:
                continue
            t = shift(s, onset, end, cfg, log)
            out.append((p, t, t is not None and t.moved(direction, cfg.attribution_alpha, 0.0)))
        return out

    def finding(p: str, onset: int, detected: int, direction: int, stat: float, own: Shift, signal: str,
                attribution: str, others: list) -> Finding | None:
        c = _describe(group[p], Change(onset, detected, direction, stat), last_day, cfg)
        c.p_value = own.p_value
        # also against the plain baseline mean (a trend extrapolated from a noisy fit can fake an effect)
        if not (np.sign(c.delta) == direction and abs(c.delta) >= cfg.min_relative_change * abs(c.baseline[0])):
            return None
        js = [t.as_json(q, moved) for q, t, moved in others if t is not None]
        return Finding(p, c, signal, attribution, js)

    found: list[Finding] = []
    if len(group) == 1:
        (p, s), = ana.items()
        h = cfg.threshold

        def accept_own(onset, detected, direction, stat, start):
            own = shift(s, onset, min(detected, onset + cfg.current_days - 1), cfg, log)
            if own is None or not own.moved(direction, cfg.confirm_alpha, cfg.min_relative_change, cfg.consistency):
                return None
            return finding(p, onset, detected, direction, stat, own, "own", "unclear", [])

        z = zs[p]
        ok = np.isfinite(z)
        return [f for f in _scan(s.days[ok], z[ok], h, cfg, accept_own) if f is not None]

    h = cfg.threshold_for(cfg.false_alarm_rate / 2)
    rel = {p: to_analysis(s, False) for p, s in relative_series(ana).items()}
    for p, r in rel.items():
        if not len(r.days):
            continue

        def accept_relative(onset, detected, direction, stat, start, p=p):
            end = min(detected, onset + cfg.current_days - 1)
            own = shift(ana[p], onset, end, cfg, log)
            if own is None or not own.moved(direction, cfg.confirm_alpha, cfg.min_relative_change, cfg.consistency):
                return None
            # the gap to the peers moved by the practical threshold too (of the provider's level), and the
            # provider's own move makes at least half of it (else the peers moved: a healthy provider
            # whose peer degraded sees its gap move while its own history stays put)
            gap = shift(rel[p], onset, end, cfg, False)
            if (gap is None or direction * relative_effect(gap.residual, own.level, log) < cfg.min_relative_change
                    or direction * own.residual < 0.5 * direction * gap.residual):
                return None
            if echo(rel[p], onset, direction, cfg, False) and echo(ana[p], onset, direction, cfg, log):
                return None
            others = tests(onset, end, direction, skip=p)
            attribution = "unclear" if any(m for _, _, m in others) else "provider"
            # the reported onset: the step located on the sum of the provider's own and relative scores
            # (both carry the step; their noise is partly independent) within the alarmed run
            d, zo = ana[p].days, zs[p]
            run = (d >= max(start, onset - cfg.guard_days)) & (d <= detected) & np.isfinite(zo)
            if run.any():
                zsum = zo[run] + np.nan_to_num(np.interp(d[run], r.days[ok], zr[ok], left=np.nan, right=np.nan))
                onset = int(d[run][refine_onset(zsum, direction)])
            return finding(p, onset, detected, direction, stat, own, "relative", attribution, others)

        zr = rolling_z(r, cfg)
        ok = np.isfinite(zr)
        found += [f for f in _scan(r.days[ok], zr[ok], h, cfg, accept_relative) if f is not None]

    mdays, mz = model_z(ana, zs)

    def accept_model(onset, detected, direction, stat, start):
        detected_end = detected
        detected = min(detected, onset + cfg.current_days - 1)
        own = {p: shift(s, onset, detected, cfg, log) for p, s in ana.items()}
        moved = [p for p, t in own.items()
                 if t is not None and t.moved(direction, cfg.confirm_alpha, cfg.min_relative_change, cfg.consistency)]
        if len(moved) < 2:
            return None
        # most of the model's traffic moved, and no provider significantly the other way
        weight = {p: float(s.window(onset, detected)[2].sum()) for p, s in ana.items()}
        if sum(weight[p] for p in moved) < 0.5 * sum(weight.values()):
            return None
        if any(t is not None and t.p_value < cfg.attribution_alpha and np.sign(t.z) == -direction for t in own.values()):
            return None
        moved = [p for p in moved if not echo(ana[p], onset, direction, cfg, log)]
        if len(moved) < 2:
            return None
        out = []
        for p in moved:
            others = [(q, own[q], q in moved) for q in ana if q != p]
            f = finding(p, onset, detected_end, direction, stat, own[p], "model", "model", others)
            if f is not None:
                out.append(f)
        return out or None

    for batch in _scan(mdays, mz, h, cfg, accept_model):
        found += batch
    return sorted(found, key=lambda f: (f.change.onset, f.provider))


def refine_onset(z: np.ndarray, direction: int) -> int:
    """Index of the most likely step within an alarmed CUSUM run: argmax over tau of
    direction * sum(z[tau:]) / sqrt(len(z) - tau) (the likelihood-ratio estimate of a mean shift;
    the run's first day alone is often a chance excursion that preceded the change)."""
    z = np.nan_to_num(np.asarray(z, dtype=float)) * direction
    tail = np.cumsum(z[::-1])[::-1]
    return int(np.argmax(tail / np.sqrt(np.arange(len(z), 0, -1))))


def _describe(series: Series, c: Change, last_day: int, cfg: DetectorSettings) -> Change:
    """Baseline (the days before the onset), level at detection ([onset, detected]) and resolution
    day — all from data up to the day each is known (causal)."""
    c.baseline = series.mean_ci(c.onset - cfg.baseline_days, c.onset - 1)[:3]
    c.current = series.mean_ci(c.onset, c.detected)[:3]
    mid = (c.baseline[0] + c.current[0]) / 2
    for d in series.days[series.days > c.detected].tolist():
        m, *_ = series.mean_ci(d - 6, d)
        if (m - mid) * c.direction < 0:
            c.resolved = d
            break
    return c


def as_of(series: Series, analysis: Series, c: Change, day: int, cfg: DetectorSettings,
          log: bool = False) -> tuple[tuple[float, float, float], float, int]:
    """(current value with 95% interval, p-value, observations) of change ``c`` as known on ``day``:
    the ``current_days`` from the onset, up to ``day`` (``analysis``: the series on the detector's
    scale, for the p-value)."""
    end = min(c.onset + cfg.current_days - 1, day)
    cur = series.mean_ci(c.onset, end)
    test = shift(analysis, c.onset, end, cfg, log)
    _, _, w = series.window(c.onset, end)
    return cur[:3], (test.p_value if test else math.nan), int(w.sum())


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _ordinal(day) -> int:
    if isinstance(day, (int, np.integer)):
        return int(day)
    if isinstance(day, dt.datetime):
        day = day.date()
    return (day - EPOCH).days


def to_date(ordinal: int | None) -> dt.date | None:
    return None if ordinal is None else EPOCH + dt.timedelta(days=int(ordinal))


def series_from_frame(frame: pl.DataFrame, day: str, value: str, weight: str, min_weight: float = 1.0) -> Series:
    return Series.of(frame[day].to_list(), frame[value].to_list(), frame[weight].to_list(), min_weight)
