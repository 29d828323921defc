"""Automation: the nightly schedule and the landing-folder sensor, both running the whole graph.

* ``nightly`` — 02:00 UTC every day, materializes yesterday's partition of every asset (ingest,
  marts, checks, serving snapshot). On by default, so a fresh ``dg dev`` runs it.
* ``landing_sensor`` — every 60 s compares each landing day's fingerprint (relative path, size,
  mtime of its files) with the one stored in the sensor cursor, and requests the days that are new
  or changed — a late file for an old day re-materializes that day and everything downstream.
  Consecutive days become one single-run backfill (partition range). The cursor (JSON,
  ``{"v": 1, "days": {"2026-01-15": "<fingerprint>"}}``) lives in the Dagster instance
  (DAGSTER_HOME), so it survives restarts. On its very first tick (no cursor) a day is treated as
  already seen when `requests` has a materialization of it newer than the day's newest file, or
  when the published snapshot recorded every file of the day after its last change — so starting
  the daemon after `make demo` does not redo the year.
"""

import datetime as dt
import hashlib
import json

from pathlib import Path

import dagster as dg
import duckdb

from gatewaylens.config import settings
from gatewaylens.db import connect_readonly

from .landing import contiguous_ranges, day_files, fingerprint
from .partitions import daily

CURSOR_VERSION = 1
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

everything = dg.define_asset_job(
    "gatewaylens_all",
    selection=dg.AssetSelection.all(include_sources=False),
    description="The whole graph: requests -> marts -> serving_snapshot, with every asset check.",
)

nightly = dg.build_schedule_from_partitioned_job(
    everything,
    name="nightly",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 UTC: materialize yesterday's partition of the whole graph.",
)


def load_cursor(raw: str | None) -> dict[str, str] | None:
    """{day: fingerprint} from a cursor string; None when there is no usable cursor."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION or not isinstance(data.get("days"), dict):
        return None
    return {str(k): str(v) for k, v in data["days"].items()}


def dump_cursor(days: dict[str, str]) -> str:
    return json.dumps({"v": CURSOR_VERSION, "days": dict(sorted(days.items()))}, separators=(",", ":"))


def _already_materialized(instance: dg.DagsterInstance, files: dict[dt.date, list[Path]]) -> set[dt.date]:
    """Days whose newest file is older than the latest materialization of `requests` that covers them."""
    key = dg.AssetKey("requests")
    event = instance.get_latest_materialization_event(key)
    if event is None:
        return set()
    done = instance.get_materialized_partitions(key)
    return {
        day for day, fs in files.items()
        if day.isoformat() in done and max(f.stat().st_mtime for f in fs) < event.timestamp
    }


def _already_in_snapshot(files: dict[dt.date, list[Path]]) -> set[dt.date]:
    """Days all of whose files the published snapshot's `ingested_files` recorded after their last
    change (matched on the landing-relative part YYYY/MM/DD/name of the path). Covers runs that
    left no trace in this instance, e.g. `make demo` (ephemeral instance) or `gatewaylens ingest`."""
    path = settings().serving_path
    if not path.exists():
        return set()
    try:
        con = connect_readonly(path, retries=2)
        try:
            rows = con.execute("SELECT path, max(ingested_at) FROM ingested_files GROUP BY path").fetchall()
        finally:
            con.close()
    except (duckdb.Error, OSError):
        return set()
    seen: dict[str, float] = {}
    for p, at in rows:
        key = "/".join(Path(p).parts[-4:])
        seen[key] = max(seen.get(key, 0.0), at.timestamp())
    out = set()
    for day, fs in files.items():
        if all(seen.get("/".join(f.parts[-4:]), 0.0) > f.stat().st_mtime for f in fs):
            out.add(day)
    return out


@dg.sensor(
    job=everything,
    name="landing_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the days whose landing files are new or changed (late files included).",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    root = settings().landing
    files = day_files(root)
    current = {day.isoformat(): fingerprint(fs, root) for day, fs in files.items()}
    seen = load_cursor(context.cursor)
    if seen is None:  # first tick: what `make demo` (or an earlier run) already loaded counts as seen
        known = _already_materialized(context.instance, files) | _already_in_snapshot(files)
        seen = {d.isoformat(): current[d.isoformat()] for d in known}
    first, last = daily.get_first_partition_key(), daily.get_last_partition_key()
    changed, skipped = [], []
    for day, fp in current.items():
        if seen.get(day) == fp:
            continue
        if first is not None and last is not None and first <= day <= last:
            changed.append(dt.date.fromisoformat(day))
        else:
            skipped.append(day)  # before the start date, or today's still-open partition
    new_cursor = dict(seen)
    for day in changed:
        new_cursor[day.isoformat()] = current[day.isoformat()]
    run_requests = []
    for start, end in contiguous_ranges(changed):
        key = ",".join(current[(start + dt.timedelta(days=i)).isoformat()] for i in range((end - start).days + 1))
        run_requests.append(
            dg.RunRequest(
                run_key=f"landing:{start}..{end}:{hash_key(key)}",
                tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat(), "gatewaylens/trigger": "landing"},
            )
        )
    if skipped:
        context.log.info(f"not requestable yet (outside the partitions): {', '.join(skipped[:10])}")
    if run_requests:
        context.log.info(f"requesting {len(changed)} day(s) in {len(run_requests)} run(s)")
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=dump_cursor(new_cursor),
        skip_reason=None if run_requests else "no new or changed landing files",
    )


def hash_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
