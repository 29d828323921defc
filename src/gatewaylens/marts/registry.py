"""The mart registry: one entry per mart, in dependency order.

A mart is ``src/gatewaylens/sql/<name>.sql`` — a header comment (grain, formulas, caveats) and ONE
plain SELECT (CTEs allowed) over the bound day range ``getvariable('start_day')`` ..
``getvariable('end_day')``, each output column documented by a trailing ``-- comment`` on the
line that defines it — plus one :class:`Mart` entry here. The runner (``gatewaylens.marts``)
owns writing: DELETE the bound days + INSERT in the DuckDB file (table created from the SELECT
when missing), partition overwrite in the lake.

An entry declares:

* ``deps`` — marts the SELECT reads (they are built first for the same days). Base tables
  (``requests``, ``provider_attempts``, ``model_catalog``, ``provider_catalog``) are always available.
* ``grain`` — how the mart is partitioned. Every mart has a ``day`` column, its partition:
  ``"day"`` (default): a build of days D1..D2 writes exactly the partitions D1..D2.
  ``"month"``: rows carry ``day`` = first day of their month; a build of any day of a month
  binds the whole month (start_day = the 1st, end_day = the last day) and rewrites the month's
  partition ``day=YYYY-MM-01`` — a monthly mart reads O(month), never all history.
* ``lookback`` — for a trailing window: how many days *before* start_day the SELECT reads
  (``provider_variance`` reads the previous ``variance_window_days - 1`` days). It writes only
  the bound days; Dagster maps the dependency on ``requests`` to the window, and a lake/Spark
  engine knows which partitions to scan.
* ``history`` — the SELECT reads its inputs' whole history up to end_day (``model_adoption_lag``:
  first use ever). Otherwise a build reads its inputs' days ``start_day - lookback`` .. ``end_day``
  only, and the lake reads just those partitions (:meth:`Mart.reads_days`); a SELECT reading
  outside them gives another answer in the lake than in the file (tests/test_lake.py builds a
  late day both ways).
* ``postprocess`` — an optional pure Python step ``(rows: pl.DataFrame, MartSettings) ->
  pl.DataFrame`` run on the SELECT's rows before they are written (same columns, same types):
  the statistics DuckDB lacks (``provider_variance``'s tests). It runs on the driver whatever
  the engine.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from gatewaylens.config import MartSettings

BASE_TABLES: tuple[str, ...] = ("requests", "provider_attempts", "model_catalog", "provider_catalog")

PostProcess = Callable[[pl.DataFrame, MartSettings], pl.DataFrame]


def _score_variance(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    from gatewaylens.stats import score_provider_variance

    return score_provider_variance(rows, cfg)


def _variance_window(cfg: MartSettings) -> int:
    return cfg.variance_window_days - 1


def _detect_regressions(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    from gatewaylens.regressions import score_regressions

    return score_regressions(rows, cfg)


def _score_anomalies(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    from gatewaylens.anomalies import score_anomalies

    return score_anomalies(rows, cfg)


def _forecast_spend(rows: pl.DataFrame, cfg: MartSettings) -> pl.DataFrame:
    from gatewaylens.anomalies import forecast_spend

    return forecast_spend(rows, cfg)


@dataclass(frozen=True)
class Mart:
    name: str
    deps: tuple[str, ...] = ()
    grain: Literal["day", "month"] = "day"
    lookback: Callable[[MartSettings], int] | None = None
    postprocess: PostProcess | None = None
    history: bool = False

    @property
    def sql_file(self) -> str:
        return f"{self.name}.sql"

    def lookback_days(self, cfg: MartSettings) -> int:
        """Days before start_day that the SELECT reads (0 unless a trailing window)."""
        return self.lookback(cfg) if self.lookback else 0

    def reads_days(self, start_day: dt.date, end_day: dt.date, cfg: MartSettings) -> tuple[dt.date | None, dt.date]:
        """The days of its inputs (base tables, deps) a build of the bound days start_day..end_day
        reads; None as the first: the whole history."""
        if self.history:
            return None, end_day
        return start_day - dt.timedelta(days=self.lookback_days(cfg)), end_day

    def bound_days(self, start_day: dt.date, end_day: dt.date) -> tuple[dt.date, dt.date]:
        """The day range a build of start_day..end_day binds (whole months for a monthly grain)."""
        if self.grain == "month":
            last = calendar.monthrange(end_day.year, end_day.month)[1]
            return start_day.replace(day=1), end_day.replace(day=last)
        return start_day, end_day


# In dependency order: an entry only depends on entries above it (checked at import).
REGISTRY: tuple[Mart, ...] = (
    Mart("tool_call_rate_daily"),
    Mart("reasoning_share_daily"),
    Mart("cost_daily"),
    Mart("model_mix_daily", deps=("cost_daily",)),
    Mart("app_model_mix_daily"),
    Mart("provider_variance_daily", postprocess=_score_variance),
    Mart("provider_variance", lookback=_variance_window, postprocess=_score_variance),
    Mart("provider_ranking", deps=("provider_variance",)),
    Mart("provider_uptime_daily"),
    Mart("provider_uptime_hourly"),
    Mart("load_hourly"),
    Mart("load_minutely"),
    Mart("load_profile_daily", deps=("load_hourly", "load_minutely")),
    Mart("model_substitution_daily"),
    Mart("cost_reconciliation_daily"),
    # #14: data policy, lock-in, users and sessions, cache, errors, latency tails
    Mart("policy_exposure_daily", deps=("cost_daily",)),
    Mart("vendor_concentration_monthly", grain="month"),
    Mart("model_switches", grain="month", lookback=lambda cfg: 31),  # reads the previous month
    Mart("model_adoption_lag", deps=("cost_daily",), history=True),  # reads cost_daily's (small) history up to end_day
    Mart("user_activity_daily", lookback=lambda cfg: 90),  # new users: not seen in the previous 90 days
    Mart("session_summary_daily"),
    Mart("cache_daily"),
    Mart("errors_daily"),
    Mart("latency_daily"),
    Mart("app_dimensions_daily"),  # team / tags per app: the dashboard's Team and Tags filters
    Mart("provider_metrics_daily"),
    Mart("provider_regressions", deps=("provider_metrics_daily",), lookback=lambda cfg: cfg.regression_history_days,
         postprocess=_detect_regressions),
    Mart("usage_anomalies_daily", deps=("cost_daily",), lookback=lambda cfg: cfg.anomaly_baseline_days,
         postprocess=_score_anomalies),
    Mart("spend_forecast", deps=("cost_daily",), lookback=lambda cfg: 31 + cfg.anomaly_baseline_days,
         postprocess=_forecast_spend),
)


def check_order(entries: tuple[Mart, ...]) -> None:
    """Raise ValueError unless names are unique and every dep is an entry listed before."""
    seen: set[str] = set()
    for m in entries:
        if m.name in seen:
            raise ValueError(f"mart {m.name!r} is registered twice")
        unknown = [d for d in m.deps if d not in seen]
        if unknown:
            raise ValueError(f"mart {m.name!r} depends on {unknown}: register those before it")
        seen.add(m.name)


check_order(REGISTRY)

BY_NAME: dict[str, Mart] = {m.name: m for m in REGISTRY}


def get(name: str) -> Mart:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown mart {name!r}; known: {', '.join(BY_NAME)}") from None


def with_dependencies(names: list[str]) -> list[str]:
    """``names`` plus every mart they (transitively) depend on, in build order."""
    wanted: set[str] = set()

    def add(n: str) -> None:
        if n not in wanted:
            wanted.add(n)
            for d in get(n).deps:
                add(d)

    for n in names:
        add(n)
    return [m.name for m in REGISTRY if m.name in wanted]
