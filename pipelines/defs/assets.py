"""Assets: landing files -> requests -> one asset per mart -> serving_snapshot.

Every asset calls the library (gatewaylens.ingest / marts / serving); no metric logic lives here.
Day-grain assets share the daily partitions and accept a partition key range (single-run
backfills): a range is one run, each day's files are still ingested on their own, and marts are
rebuilt for exactly the days of the range (delete + insert: re-running is idempotent).
"""

import datetime as dt
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb

from gatewaylens import checks, marts, storage
from gatewaylens.config import mart_settings, settings
from gatewaylens.ingest import IngestSummary, find_input_files
from gatewaylens.report import frame_to_markdown

from .landing import landing_folder
from .partitions import daily
from .resources import POOL, SparkResource, Warehouse, spark_session, with_warehouse

# Marts: yesterday's partition materialized by 06:00 UTC (the nightly run starts at 02:00).
MART_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4))


def run_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The UTC days of the run's partition (or partition range)."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


# ------------------------------------------------------------------------------- requests


@dg.asset(
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingest",
    kinds={"duckdb", "python"},
    pool=POOL,
    description=(
        "Gateway requests ingested from the landing folder of each UTC day (GATEWAYLENS_LANDING/"
        "YYYY/MM/DD/). Grain: one row per request (request_id unique); tokens are counts, costs "
        "USD, latencies ms. Also writes provider_attempts (one row per provider attempt), "
        "quarantine (one row per rejected line, with the reason) and ingested_files (one row per "
        "file read: records = rows_inserted + duplicates + quarantined + merged, records = lines except "
        "for OTLP lines batching several requests). A file whose "
        "content was already ingested is skipped, so re-running a day is a no-op; a changed or "
        "late file is read whole and only its new request_ids are inserted."
    ),
)
def requests(context: dg.AssetExecutionContext, duckdb: Warehouse, pyspark: SparkResource) -> dg.MaterializeResult:
    cfg = settings()
    days = run_days(context)

    def log_file(res) -> None:
        if not res.skipped:
            context.log.debug(f"{res.path}: {res.counts_text()}")

    def work(con):
        started = time.perf_counter()
        missing, by_day = [], {}
        for day in days:
            folder = landing_folder(day)
            found = find_input_files([folder]) if folder.exists() else []
            if not found:
                missing.append(day)
            by_day[day] = found
        salt = storage.resolve_salt(cfg.model_copy(update={"db": Path(duckdb.path)}) if cfg.storage == "duckdb" else cfg)
        if salt.notice():
            context.log.warning(salt.notice())
        # DuckDB file: small files of consecutive days are staged in batches (one transaction
        # each); lake: each landing day is one source written atomically (see gatewaylens.lake).
        summary = IngestSummary(files=storage.ingest_days(con, by_day, salt=salt.value, on_file=log_file,
                                                          spark=spark_session(pyspark)))
        summary.seconds = time.perf_counter() - started
        per_day = con.sql(
            "SELECT day, count(*) AS requests, count(DISTINCT source_file) AS files, "
            "count(*) FILTER (WHERE status = 'error') AS errors FROM requests "
            "WHERE day BETWEEN $start AND $end GROUP BY day ORDER BY day DESC",
            params={"start": days[0], "end": days[-1]},
        ).pl()
        return summary, missing, per_day

    summary, missing, per_day = with_warehouse(context, duckdb, work, what=f"ingest {days[0]}..{days[-1]}")
    if missing:
        shown = ", ".join(str(d) for d in missing[:10]) + (" ..." if len(missing) > 10 else "")
        context.log.warning(f"no landing files for {len(missing)} day(s): {shown} (under {cfg.landing})")
    context.log.info(
        f"{len(summary.files)} files ({summary.skipped} already ingested): {summary.counts_text()} | "
        f"{summary.lines_per_second:,.0f} lines/s"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(per_day["requests"].sum() or 0),
            "days": len(days),
            "days_without_files": len(missing),
            "files": len(summary.files),
            "files_skipped": summary.skipped,
            "lines": summary.lines,
            "records": summary.records,
            "rows_inserted": summary.rows_inserted,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "merged": summary.merged,
            "seconds": round(summary.seconds, 3),
            "lines_per_second": round(summary.lines_per_second, 1),
            "preview": dg.MetadataValue.md(frame_to_markdown(per_day)),
        }
    )


# ------------------------------------------------------------------------------- marts


def mart_description(name: str) -> str:
    """The mart's documentation (grain, units, definitions), parsed from the header of its SQL file."""
    return marts.mart_descriptions().get(name) or f"Metric mart {name} (src/gatewaylens/sql/{name}.sql)."


def mart_columns(name: str) -> dg.TableSchema | None:
    """Column descriptions of the mart (``marts.mart_docs()``), shown in the asset's schema tab."""
    cols = marts.mart_docs().get(name) or {}
    return dg.TableSchema(columns=[dg.TableColumn(name=c, description=d) for c, d in cols.items()]) if cols else None


def mart_deps(name: str) -> list[dg.AssetDep]:
    """What mart ``name`` reads, from its registry entry: ``requests`` (over its trailing window
    when the entry declares a lookback) and its ``deps`` marts (same days)."""
    entry = marts.get(name)
    lookback = entry.lookback_days(mart_settings())
    upstream = (
        dg.AssetDep("requests", partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-lookback, allow_nonexistent_upstream_partitions=True))
        if lookback else dg.AssetDep("requests")
    )
    return [upstream, *(dg.AssetDep(d) for d in entry.deps)]


def _preview(con: duckdb.DuckDBPyConnection, name: str, start: dt.date, end: dt.date):
    columns = checks.table_columns(con, name)
    col = checks.time_column(columns)
    where = f'CAST("{col}" AS DATE) BETWEEN $start AND $end' if col else "TRUE"
    params = {"start": start, "end": end} if col else None
    order = f'"{col}" DESC' if col else "ALL"
    sql = f'SELECT * FROM "{name}" WHERE {where} ORDER BY {order} LIMIT 10'  # name from MARTS
    return con.sql(sql, params=params).pl() if params else con.sql(sql).pl()


def _mart_metadata(name: str) -> dict:
    meta: dict = {"sql_file": f"src/gatewaylens/sql/{name}.sql"}
    schema = mart_columns(name)
    if schema is not None:
        meta["dagster/column_schema"] = schema
    return meta


def build_mart_asset(name: str) -> dg.AssetsDefinition:
    """One asset per mart: rebuilds the mart's rows for the days of the run."""
    if name not in marts.MARTS:
        raise ValueError(f"unknown mart {name!r}")

    @dg.asset(
        name=name,
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=mart_deps(name),
        group_name="marts",
        kinds={"duckdb", "sql"},
        pool=POOL,
        freshness_policy=MART_FRESHNESS,
        description=mart_description(name),
        metadata=_mart_metadata(name),
    )
    def _mart(context: dg.AssetExecutionContext, duckdb: Warehouse, pyspark: SparkResource) -> dg.MaterializeResult:
        days = run_days(context)

        def work(con):
            result = storage.build_mart(con, name, days[0], days[-1], spark=spark_session(pyspark))
            return result, _preview(con, name, days[0], days[-1])

        result, preview = with_warehouse(context, duckdb, work, what=f"build {name} {days[0]}..{days[-1]}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "days": len(days),
                "seconds": round(result.seconds, 3),
                "preview": dg.MetadataValue.md(frame_to_markdown(preview)),
            }
        )

    return _mart


mart_assets = [build_mart_asset(name) for name in marts.MARTS]


def mart_asset(name: str) -> dg.AssetsDefinition:
    """The asset of mart ``name``."""
    return mart_assets[marts.MARTS.index(name)]


# ------------------------------------------------------------------------------- serving


@dg.asset(
    deps=["requests", *marts.MARTS, "alerts"],
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="serving",
    kinds={"duckdb"},
    pool=POOL,
    description=(
        "Read-only serving file (GATEWAYLENS_SERVING, default <db>.serving.duckdb) published "
        "atomically at the end of every run, for the run's days only (O(day), see "
        "gatewaylens.serving): the marts as tables (the previous file copied, the run's days "
        "replaced), requests/provider_attempts as views over day-partitioned Parquet (the lake, or "
        "in duckdb storage mode a mirror beside the file into which the changed days are "
        "exported), then os.replace onto the path. The dashboard and `gatewaylens sql` open it "
        "read-only and see the old or the new file, never a half-written one."
    ),
)
def serving_snapshot(context: dg.AssetExecutionContext, duckdb: Warehouse) -> dg.MaterializeResult:
    days = run_days(context)
    target = settings().serving_path

    def work(con):
        marts.ensure_views(con)  # analyst views (v_requests, v_adoption_monthly, ...) exist even before any mart ran
        return storage.publish(con, (days[0], days[-1]))

    result = with_warehouse(context, duckdb, work, what=f"publish snapshot {target}")
    context.log.info(f"published {result.path} ({result.bytes / 1e6:.1f} MB, {'full' if result.full else 'run days'}) "
                     f"in {result.seconds:.2f} s")
    return dg.MaterializeResult(
        metadata={
            "path": str(result.path),
            "bytes": result.bytes,
            "seconds": round(result.seconds, 3),
            "full": result.full,
            "raw_days_exported": len(result.raw_days),
            "tables": dg.MetadataValue.md(
                "| table | rows written |\n|---|---|\n" + "\n".join(f"| {t} | {n} |" for t, n in result.tables.items())
            ),
            "views": ", ".join(result.views),
        }
    )
