"""Asset checks: thin wrappers over gatewaylens.checks (each returns (passed, metadata)).

Blocking checks stop downstream assets in the same run when they fail: a duplicated request_id
or a file whose lines do not add up stops every mart; a mart whose rates leave [0, 1], whose
shares do not sum to 1, or whose totals disagree with `requests` stops the serving snapshot —
so readers keep the last good snapshot. Warnings are recorded and never stop a run.

Checks cover the days of the run (its partition or partition range); launched alone, without a
partition, they cover every day. Thresholds: GATEWAYLENS_QUARANTINE_MAX (default 0.01).
"""

import datetime as dt

import dagster as dg

from gatewaylens import checks, marts
from gatewaylens.config import settings

from .assets import requests
from .resources import POOL, Warehouse, with_warehouse


def check_days(context: dg.AssetCheckExecutionContext) -> tuple[dt.date | None, dt.date | None]:
    """(start, end) UTC days of the run's partition range, or (None, None) for all days."""
    if not context.has_partition_key_range:
        return None, None
    window = context.partition_time_window
    return window.start.date(), window.end.date() - dt.timedelta(days=1)


def quarantine_threshold() -> float:
    return settings().quarantine_max


def _run(context, duckdb: Warehouse, fn, *args, severity=dg.AssetCheckSeverity.ERROR, **kwargs):
    start, end = check_days(context)
    scope = f"{start}..{end}" if start else "all days"
    passed, metadata = with_warehouse(
        context, duckdb, lambda con: fn(con, *args, start_day=start, end_day=end, **kwargs),
        what=f"check {fn.__name__} ({scope})",
    )
    metadata = {k: v for k, v in metadata.items() if v != ""}
    metadata["scope"] = scope
    return dg.AssetCheckResult(passed=bool(passed), severity=severity, metadata=metadata)


# ------------------------------------------------------------------ requests: blocking


@dg.asset_check(asset=requests, blocking=True, pool=POOL,
                description="Blocking: no request_id appears twice in `requests`.")
def request_id_unique(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    return _run(context, duckdb, checks.request_id_unique)


@dg.asset_check(asset=requests, blocking=True, pool=POOL,
                description=("Blocking: for every ingested file, records = rows_inserted + duplicates + quarantined "
                             "+ merged with records >= lines (records = lines except OTLP lines batching several "
                             "requests), and the rows stored from the file equal its records."))
def file_lines_accounted(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    return _run(context, duckdb, checks.file_lines_accounted)


# ------------------------------------------------------------------ requests: warnings


@dg.asset_check(asset=requests, pool=POOL,
                description="Warning: quarantined / read lines above GATEWAYLENS_QUARANTINE_MAX (default 1%).")
def quarantine_rate(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    return _run(context, duckdb, checks.quarantine_rate, threshold=quarantine_threshold(),
                severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=requests, pool=POOL,
                description="Warning: request timestamps more than 1 hour in the future (clock skew, bad logs).")
def future_timestamps(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    return _run(context, duckdb, checks.future_timestamps, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=requests, pool=POOL,
                description="Warning: a day with fewer than half the median requests of its trailing 7 days.")
def low_volume_days(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    return _run(context, duckdb, checks.low_volume_days, severity=dg.AssetCheckSeverity.WARN)


# ------------------------------------------------------------------ marts: blocking

_MART_CHECK_DOCS = {
    "rates_in_unit_interval": "Blocking: every rate/share/probability column lies in [0, 1].",
    "shares_sum_to_one": "Blocking: the share columns sum to 1 per day.",
    "totals_match_requests": "Blocking: per-day request and token totals equal those of `requests`.",
}


def build_mart_check(mart: str, check_name: str) -> dg.AssetChecksDefinition:
    fn = getattr(checks, check_name)

    @dg.asset_check(asset=mart, name=check_name, blocking=True, pool=POOL, description=_MART_CHECK_DOCS[check_name])
    def _check(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
        return _run(context, duckdb, fn, mart)

    return _check


def _documented_columns(mart: str) -> list[str] | None:
    return list(marts.mart_docs().get(mart, {})) or None


mart_checks = [
    build_mart_check(m, c) for m in marts.MARTS for c in checks.applicable_mart_checks(m, _documented_columns(m))
]
