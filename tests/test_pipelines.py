"""Orchestration: definitions, whole-graph materialization, schedule, sensor, blocking checks,
lock handling. Real DuckDB files in tmp dirs, real dagster.materialize / job execution."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.generator import generate
from tests.conftest import ROOT

START = dt.date(2026, 1, 5)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def range_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    return {RANGE_START: start.isoformat(), RANGE_END: end.isoformat()}


def definitions() -> dg.Definitions:
    from pipelines.definitions import defs

    return defs()


def run_job(start: dt.date, end: dt.date, instance: dg.DagsterInstance | None = None):
    """Execute the job the schedule and sensor launch (the whole graph with checks)."""
    job = definitions().resolve_job_def("gatewaylens_all")
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), tags=range_tags(start, end), raise_on_error=False
    )


def materialized(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for e in result.get_asset_materialization_events():
        out.setdefault(e.asset_key.to_user_string(), []).append(e.materialization)
    return out


# ----------------------------------------------------------------------------- definitions


def test_dg_check_defs_passes():
    env = {**os.environ, "VIRTUAL_ENV": str(ROOT / ".venv")}
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "dg"), "check", "defs"], cwd=ROOT, capture_output=True, text=True, env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_every_expected_definition_exists():
    d = definitions()
    graph = d.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"requests", "serving_snapshot", "alerts", *marts.MARTS}
    for name in marts.MARTS:
        node = graph.get(dg.AssetKey(name))
        parents = {p.to_user_string() for p in node.parent_keys}
        assert "requests" in parents, name
        assert parents <= {"requests", *marts.MARTS[: marts.MARTS.index(name)]}, name  # deps point backwards
        assert node.group_name == "marts" and "duckdb" in node.kinds and node.description
        assert node.partitions_def is not None and node.freshness_policy is not None
    assert {p.to_user_string() for p in graph.get(dg.AssetKey("serving_snapshot")).parent_keys} == {"requests", "alerts", *marts.MARTS}
    checks = {c.to_user_string() for c in graph.asset_check_keys}
    for name in ("request_id_unique", "file_lines_accounted", "quarantine_rate", "future_timestamps", "low_volume_days"):
        assert f"requests:{name}" in checks
    assert "model_mix_daily:shares_sum_to_one" in checks
    assert "tool_call_rate_daily:totals_match_requests" in checks
    assert "tool_call_rate_daily:rates_in_unit_interval" in checks
    blocking = {c.key.to_user_string() for c in _check_specs(d) if c.blocking}
    assert {"requests:request_id_unique", "requests:file_lines_accounted", "model_mix_daily:shares_sum_to_one"} <= blocking
    assert "requests:quarantine_rate" not in blocking
    assert [s.name for s in d.schedules] == ["nightly"]
    assert sorted(s.name for s in d.sensors) == ["alert_delivery_sensor", "landing_sensor"]
    assert "alerts:alerts_delivered" in checks and "alerts:alerts_delivered" not in blocking


def _check_specs(d: dg.Definitions):
    return [spec for checks_def in d.asset_checks for spec in checks_def.check_specs]


# ----------------------------------------------------------------------------- whole graph


def test_materialize_whole_graph_three_partitions(env):
    generate(days=3, requests_per_day=300, seed=1, out=env["landing"], start=START, bad_rate=0.01)
    end = START + dt.timedelta(days=2)
    result = run_job(START, end)
    assert result.success
    mats = materialized(result)
    assert set(mats) == {"requests", "serving_snapshot", "alerts", *marts.MARTS}
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(_check_specs(definitions()))
    assert all(e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR)

    meta = mats["requests"][0].metadata
    assert meta["rows_inserted"].value == 900
    assert meta["records"].value == 900 + meta["duplicates"].value + meta["quarantined"].value + meta["merged"].value
    assert meta["records"].value >= meta["lines"].value
    assert meta["quarantined"].value > 0 and meta["lines_per_second"].value > 0
    assert "| day |" in meta["preview"].value
    assert mats["tool_call_rate_daily"][0].metadata["dagster/row_count"].value > 0

    con = dbmod.connect_readonly(env["db"].with_name("warehouse.serving.duckdb"))
    try:
        days = con.sql("SELECT count(DISTINCT day), count(*) FROM requests").fetchall()[0]
        assert days == (3, 900)
        for name in marts.MARTS:
            n_days = con.sql(f"SELECT count(DISTINCT day) FROM {name}").fetchall()[0][0]
            # Event marts hold one row per detected change: three days of clean history detect none.
            assert n_days >= 1 or name == "provider_regressions", name
        assert con.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall()[0][0] == 900
    finally:
        con.close()

    # Re-running the same range is idempotent: nothing new ingested, same mart content.
    before = _table_digest(env["db"].with_name("warehouse.serving.duckdb"))
    again = run_job(START, end)
    assert again.success
    assert materialized(again)["requests"][0].metadata["rows_inserted"].value == 0
    assert _table_digest(env["db"].with_name("warehouse.serving.duckdb")) == before


def _table_digest(path: Path) -> dict[str, object]:
    con = dbmod.connect_readonly(path)
    try:
        return {
            name: con.sql(f"SELECT count(*), sum(hash(COLUMNS(* EXCLUDE (day)))) FROM {name}").fetchall()
            for name in ["requests", *marts.MARTS]
        }
    finally:
        con.close()


# ----------------------------------------------------------------------------- schedule


def test_nightly_schedule_targets_yesterday():
    d = definitions()
    schedule = d.get_schedule_def("nightly")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone in (None, "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "gatewaylens_all"
    when = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.timezone.utc)
    ctx = dg.build_schedule_context(scheduled_execution_time=when, repository_def=d.get_repository_def())
    requests = schedule.evaluate_tick(ctx).run_requests
    assert [r.partition_key for r in requests] == ["2026-03-09"]
    # The job covers the whole graph.
    job = d.resolve_job_def("gatewaylens_all")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"requests", "serving_snapshot", "alerts", *marts.MARTS}


# ----------------------------------------------------------------------------- sensor


def _evaluate_sensor(cursor: str | None, instance: dg.DagsterInstance):
    from pipelines.defs.automation import landing_sensor

    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions())
    return landing_sensor(ctx)


def _requested(result) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in result.run_requests]


def test_sensor_requests_new_and_late_days_not_unchanged_ones(env):
    generate(days=3, requests_per_day=50, seed=2, out=env["landing"], start=START)
    instance = dg.DagsterInstance.ephemeral()
    first = _evaluate_sensor(None, instance)
    d1, d2, d3 = (START + dt.timedelta(days=i) for i in range(3))
    assert _requested(first) == [(d1.isoformat(), d3.isoformat())]  # consecutive days: one run
    cursor = first.cursor
    assert set(json.loads(cursor)["days"]) == {d1.isoformat(), d2.isoformat(), d3.isoformat()}

    # Nothing changed: nothing requested (also from a fresh context with the stored cursor = restart).
    assert _requested(_evaluate_sensor(cursor, dg.DagsterInstance.ephemeral())) == []

    # A new day (d5, leaving a gap) and a late file for an old day (d1).
    d5 = START + dt.timedelta(days=4)
    generate(days=1, requests_per_day=50, seed=3, out=env["landing"] / "_new", start=d5)
    new_file = next((env["landing"] / "_new").rglob("*.jsonl"))
    target = env["landing"] / f"{d5:%Y/%m/%d}" / "requests.jsonl"
    target.parent.mkdir(parents=True)
    shutil.move(new_file, target)
    shutil.rmtree(env["landing"] / "_new")
    late = env["landing"] / f"{d1:%Y/%m/%d}" / "late-arrival.jsonl"
    late.write_bytes(target.read_bytes()[:2000].rsplit(b"\n", 1)[0] + b"\n")
    second = _evaluate_sensor(cursor, instance)
    assert _requested(second) == [(d1.isoformat(), d1.isoformat()), (d5.isoformat(), d5.isoformat())]
    assert all(r.run_key for r in second.run_requests)
    assert _requested(_evaluate_sensor(second.cursor, instance)) == []

    # A rewritten file (same name, new content/mtime) counts as changed.
    f2 = next((env["landing"] / f"{d2:%Y/%m/%d}").glob("*.jsonl"))
    f2.write_bytes(f2.read_bytes() + f2.read_bytes().split(b"\n", 1)[0] + b"\n")
    assert _requested(_evaluate_sensor(second.cursor, instance)) == [(d2.isoformat(), d2.isoformat())]


def test_sensor_first_tick_skips_days_already_materialized(env):
    generate(days=2, requests_per_day=20, seed=4, out=env["landing"], start=START)
    instance = dg.DagsterInstance.ephemeral()
    time.sleep(0.01)
    for day in (START, START + dt.timedelta(days=1)):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="requests", partition=day.isoformat()))
    assert _requested(_evaluate_sensor(None, instance)) == []


# ----------------------------------------------------------------------------- blocking check


def test_duplicate_request_id_fails_blocking_check_and_stops_downstream(env):
    generate(days=1, requests_per_day=100, seed=5, out=env["landing"], start=START)
    instance = dg.DagsterInstance.ephemeral()
    assert run_job(START, START, instance).success
    snapshot = env["db"].with_name("warehouse.serving.duckdb")
    published_before = snapshot.stat().st_mtime_ns

    con = dbmod.connect(env["db"])  # ingest dedupes, so inject the duplicate directly
    con.execute("INSERT INTO requests SELECT * FROM requests ORDER BY request_id LIMIT 1")
    con.close()

    result = run_job(START, START, instance)
    assert not result.success
    evals = {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert evals["requests:request_id_unique"].passed is False
    assert evals["requests:request_id_unique"].metadata["duplicated_ids"].value == 1
    assert set(materialized(result)) == {"requests"}  # no mart, no snapshot
    assert snapshot.stat().st_mtime_ns == published_before  # readers keep the last good snapshot


# ----------------------------------------------------------------------------- lock errors


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_error_during_work_is_retried_then_fails_with_advice(env, tmp_path):
    from pipelines.defs.resources import warehouse_resource, with_warehouse

    other = tmp_path / "other.duckdb"
    context = dg.build_asset_context()
    work = lambda con: con.execute("ATTACH ? AS other", [str(other)]).fetchall()  # noqa: E731

    holder = _hold_lock(other, 1.0)  # released after ~1 s: a retry succeeds
    try:
        assert with_warehouse(context, warehouse_resource(), work, what="test", retries=6, base_delay=0.3) == []
    finally:
        holder.wait(10)

    holder = _hold_lock(other, 30.0)  # held for good: the run fails with a message that says what to do
    try:
        with pytest.raises(dg.Failure) as info:
            with_warehouse(context, warehouse_resource(), work, what="test", retries=2, base_delay=0.05)
        assert "locked by another process" in info.value.description
        assert "re-run this partition" in info.value.description
    finally:
        holder.kill()
        holder.wait(10)


def test_permanent_duckdb_error_fails_with_advice(env):
    from pipelines.defs.resources import warehouse_resource, with_warehouse

    with pytest.raises(dg.Failure) as info:
        with_warehouse(dg.build_asset_context(), warehouse_resource(),
                       lambda con: con.execute("SELECT * FROM no_such_table").fetchall(), what="test")
    assert "no_such_table" in info.value.description and "re-run" in info.value.description
    assert isinstance(info.value.__cause__, duckdb.Error)


def test_sensor_first_tick_skips_days_in_the_published_snapshot(env):
    """`make demo` runs on an ephemeral instance: the snapshot's ingested_files tells the sensor."""
    from gatewaylens import serving
    from gatewaylens.ingest import find_input_files, ingest_file

    generate(days=2, requests_per_day=20, seed=6, out=env["landing"], start=START)
    con = dbmod.connect(env["db"])
    for f in find_input_files([env["landing"]]):
        ingest_file(con, f, salt="test")
    serving.publish_snapshot(con)
    con.close()
    instance = dg.DagsterInstance.ephemeral()
    first = _evaluate_sensor(None, instance)
    assert _requested(first) == []
    late = env["landing"] / f"{START:%Y/%m/%d}" / "late.jsonl"
    late.write_bytes(next(late.parent.glob("*.jsonl")).read_bytes().split(b"\n", 1)[0] + b"\n")
    assert _requested(_evaluate_sensor(first.cursor, instance)) == [(START.isoformat(), START.isoformat())]
