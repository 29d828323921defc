"""Assets: landing files -> requests -> marts. Each asset calls the library; no metric logic here.

Day-grain assets accept a partition key range (single-run backfills): each day in the range is
still processed on its own, so the work per day stays O(day).
"""

import datetime as dt
import time
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from gatewaylens import marts
from gatewaylens.config import settings
from gatewaylens.ingest import IngestSummary, find_input_files, ingest_file
from gatewaylens.report import frame_to_markdown

from .partitions import daily
from .resources import warehouse


def _days(context: dg.AssetExecutionContext) -> list[dt.date]:
    window = context.partition_time_window
    start = window.start.date()
    end = window.end.date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def landing_folder(day: dt.date) -> Path:
    return settings().landing / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


@dg.asset(
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingest",
    kinds={"duckdb"},
    description=(
        "Gateway requests ingested from the landing folder of each UTC day (YYYY/MM/DD/). "
        "Grain: one row per request (request_id unique). Also writes provider_attempts, "
        "quarantine and ingested_files."
    ),
)
def requests(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    cfg = settings()
    summary = IngestSummary()
    started = time.perf_counter()
    days = _days(context)
    with warehouse(duckdb) as con:
        for day in days:
            folder = landing_folder(day)
            files = find_input_files([folder]) if folder.exists() else []
            if not files:
                context.log.warning(f"no landing files for {day} in {folder}")
            for f in files:
                res = ingest_file(con, f, salt=cfg.salt)
                summary.files.append(res)
                context.log.info(
                    f"{f}: {res.lines} lines, {res.rows_inserted} rows, {res.duplicates} duplicates, "
                    f"{res.quarantined} quarantined" + (" (already ingested)" if res.skipped else "")
                )
        rows = con.execute(
            "SELECT count(*) FROM requests WHERE day BETWEEN ? AND ?", [days[0], days[-1]]
        ).fetchall()[0][0]
    summary.seconds = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(rows),
            "files": len(summary.files),
            "files_skipped": summary.skipped,
            "lines": summary.lines,
            "rows_inserted": summary.rows_inserted,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "lines_per_second": round(summary.lines_per_second, 1),
        }
    )


@dg.asset(
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[requests],
    group_name="marts",
    kinds={"duckdb"},
    description=(
        "Tool-call rate per (day, model, provider, app): requests, successful_requests, "
        "tool_call_requests, tool_call_rate = tool_call_requests / successful_requests (0-1)."
    ),
)
def tool_call_rate_daily(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    days = _days(context)
    with warehouse(duckdb) as con:
        result = marts.build_mart(con, "tool_call_rate_daily", days[0], days[-1])
        preview = con.sql(
            "SELECT day, model, provider, sum(requests) AS requests, sum(tool_call_requests) AS tool_calls "
            "FROM tool_call_rate_daily WHERE day BETWEEN $start AND $end GROUP BY ALL ORDER BY requests DESC LIMIT 10",
            params={"start": days[0], "end": days[-1]},
        ).pl()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.rows,
            "seconds": round(result.seconds, 3),
            "preview": dg.MetadataValue.md(frame_to_markdown(preview)),
        }
    )
