"""pipelines.eventlog: a ranged run's materializations written in batches leave the instance's
SQLite files as Dagster's own per-event writes do (real runs, real SQLite instances in tmp dirs)."""

import sqlite3
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from pipelines import eventlog, instance as instancemod

DAYS = 12
START = "2026-01-01"
END = "2026-01-12"
daily = dg.DailyPartitionsDefinition(start_date=START, end_date="2026-02-01", timezone="UTC")


@dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
def upstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys), "preview": dg.MetadataValue.md("| a |\n|---|\n| 1 |")})


@dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream])
def downstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 2 * len(context.partition_keys)})


@dg.asset_check(asset=downstream)
def downstream_rows(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"days": DAYS})


def _run(home: Path, yaml: str, batch_size: int, monkeypatch: pytest.MonkeyPatch) -> tuple[dg.DagsterInstance, str]:
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", str(batch_size))
    job = dg.Definitions(assets=[upstream, downstream], asset_checks=[downstream_rows], jobs=[dg.define_asset_job("all", selection="*")]).resolve_job_def("all")
    inst = dg.DagsterInstance.get()
    result = job.execute_in_process(
        instance=inst, tags={"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END})
    assert result.success
    return inst, result.run_id


def _index_rows(home: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{home / 'history' / 'runs' / 'index.db'}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_batched_writes_equal_dagsters_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    store_batch = eventlog.BatchedSqliteEventLogStorage.store_event_batch

    def counting(self, events):  # noqa: ANN001 - records which batches reach the storage
        batches.append(len(events))
        return store_batch(self, events)

    monkeypatch.setattr(eventlog.BatchedSqliteEventLogStorage, "store_event_batch", counting)
    batchable = eventlog._batchable
    taken: list[bool] = []
    monkeypatch.setattr(eventlog, "_batchable", lambda events: taken.append(batchable(events)) or taken[-1])

    plain_home, batched_home = tmp_path / "plain", tmp_path / "batched"
    plain, plain_run = _run(plain_home, "telemetry:\n  enabled: false\n", 0, monkeypatch)
    batched, batched_run = _run(batched_home, instancemod.INSTANCE_YAML, instancemod.EVENT_BATCH_SIZE, monkeypatch)
    assert isinstance(batched.event_log_storage, eventlog.BatchedSqliteEventLogStorage)
    # the run's planned materializations (both assets x 12 days) and its planned check, then each
    # asset's 12 materializations
    assert batches == [2 * DAYS + 1, DAYS, DAYS]
    assert taken == [True, True, True]  # each written by the batched path, not Dagster's per-event one

    days = [k for k in daily.get_partition_keys() if START <= k <= END]
    for inst in (plain, batched):
        for key in ("upstream", "downstream"):
            assert sorted(inst.get_materialized_partitions(dg.AssetKey(key))) == days
            latest = inst.get_latest_materialization_event(dg.AssetKey(key))
            assert latest.dagster_event.partition == END
            assert latest.asset_materialization.metadata["dagster/row_count"].value == (1 if key == "upstream" else 2) * DAYS
            # the asset's row (asset_keys) points at the last day's materialization
            entry = inst.get_asset_records([dg.AssetKey(key)])[0].asset_entry
            assert entry.last_materialization_record.event_log_entry.dagster_event.partition == END

    # The same rows in the index: events by (type, asset, partition), their indexed tags, the asset rows.
    events = "SELECT dagster_event_type, asset_key, partition FROM event_logs WHERE asset_key IS NOT NULL"
    assert Counter(_index_rows(plain_home, events)) == Counter(_index_rows(batched_home, events))
    tags = "SELECT asset_key, key FROM asset_event_tags"
    assert Counter(_index_rows(plain_home, tags)) == Counter(_index_rows(batched_home, tags))
    assert len(_index_rows(batched_home, tags)) >= 2 * DAYS  # data-version tags of every event
    assert _index_rows(plain_home, "SELECT asset_key FROM asset_keys ORDER BY 1") == \
        _index_rows(batched_home, "SELECT asset_key FROM asset_keys ORDER BY 1")
    checks = "SELECT asset_key, check_name, partition, execution_status FROM asset_check_executions"
    assert _index_rows(batched_home, checks) == _index_rows(plain_home, checks)
    # a planned row per day (written from the start-of-run batch), then the evaluation's row
    assert sorted(r[3] for r in _index_rows(batched_home, checks)) == ["PLANNED"] * DAYS + ["SUCCEEDED"]
    stored = "SELECT count(*) FROM asset_check_executions WHERE evaluation_event_storage_id IN (SELECT id FROM event_logs)"
    assert _index_rows(batched_home, stored) == _index_rows(plain_home, stored) == [(DAYS + 1,)]
    # The run's own log (the run's SQLite file) holds the same events.
    def run_types(inst: dg.DagsterInstance, run_id: str) -> Counter:
        return Counter(e.dagster_event_type for e in inst.all_logs(run_id) if e.is_dagster_event)

    assert run_types(plain, plain_run) == run_types(batched, batched_run)
    assert run_types(batched, batched_run)[dg.DagsterEventType.ASSET_MATERIALIZATION] == 2 * DAYS


def test_instance_yaml_replaces_only_its_own_earlier_versions(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "dagster.yaml").write_text(instancemod._PREVIOUS[0])
    assert instancemod.ensure_instance_config(earlier).read_text() == instancemod.INSTANCE_YAML
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert instancemod.ensure_instance_config(mine).read_text() == "telemetry:\n  enabled: false\n"
