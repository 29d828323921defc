"""Serving snapshot (atomic publish) and `gatewaylens sql` on it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from gatewaylens import checks, db as dbmod, serving
from gatewaylens.cli import app
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_file, find_input_files
from gatewaylens import marts

START = dt.date(2026, 2, 1)


@pytest.fixture
def warehouse(env) -> Path:
    generate(days=2, requests_per_day=200, seed=11, out=env["landing"], start=START, bad_rate=0.02)
    con = dbmod.connect(env["db"])
    for f in find_input_files([env["landing"]]):
        ingest_file(con, f, salt="test")
    marts.build_all(con, START, START + dt.timedelta(days=1))
    con.close()
    return env["db"]


def test_publish_copies_every_table_and_view_atomically(warehouse, tmp_path):
    target = tmp_path / "out" / "serving.duckdb"
    con = dbmod.connect(warehouse)
    try:
        result = serving.publish_snapshot(con, target)
        expected = {
            t: con.sql(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
            for (t,) in con.sql("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()
            if t not in serving.RAW_TABLES  # served as views over the day-partitioned Parquet mirror
        }
    finally:
        con.close()
    assert result.path == target.resolve() and result.bytes == target.stat().st_size and result.full
    assert result.tables == expected
    assert {*marts.VIEWS, *serving.RAW_TABLES} <= set(result.views)
    assert sorted(p.name for p in target.parent.iterdir()) == ["serving.duckdb", "serving.raw"]  # no tmp or .wal
    snap = dbmod.connect_readonly(target)
    try:
        assert snap.sql("SELECT count(*) FROM requests").fetchall()[0][0] == 400
        assert snap.sql("SELECT count(*) FROM v_adoption_monthly").fetchall()[0][0] >= 1
    finally:
        snap.close()


def test_reader_keeps_old_snapshot_while_a_new_one_is_published(warehouse, tmp_path):
    target = tmp_path / "serving.duckdb"
    con = dbmod.connect(warehouse)
    serving.publish_snapshot(con, target)
    reader = duckdb.connect(str(target), read_only=True)  # opened before the next publish
    kept = con.sql("SELECT count(*) FROM requests WHERE day <> $d", params={"d": START}).fetchall()[0][0]
    marts_before = reader.sql("SELECT count(*) FROM tool_call_rate_daily").fetchall()[0][0]
    assert 0 < kept < 400 and marts_before > 0
    con.execute("DELETE FROM requests WHERE day = ?", [START])
    marts.build_all(con, START)
    serving.publish_snapshot(con, target)
    marts_after = con.sql("SELECT count(*) FROM tool_call_rate_daily").fetchall()[0][0]
    con.close()
    assert marts_after < marts_before
    # The old file keeps its marts and its raw views (pinned to the previous version of each day file).
    assert reader.sql("SELECT count(*) FROM tool_call_rate_daily").fetchall()[0][0] == marts_before
    assert reader.sql("SELECT count(*) FROM requests").fetchall()[0][0] == 400
    reader.close()
    fresh = dbmod.connect_readonly(target)
    assert fresh.sql("SELECT count(*) FROM tool_call_rate_daily").fetchall()[0][0] == marts_after  # new file
    assert fresh.sql("SELECT count(*) FROM requests").fetchall()[0][0] == kept
    fresh.close()


def test_failed_publish_leaves_previous_snapshot_untouched(warehouse, tmp_path):
    target = tmp_path / "serving.duckdb"
    con = dbmod.connect(warehouse)
    serving.publish_snapshot(con, target)
    before = target.read_bytes()
    con.execute("ATTACH ':memory:' AS gl_snapshot")  # the alias is taken: the copy cannot start
    with pytest.raises(duckdb.Error):
        serving.publish_snapshot(con, target)
    con.close()
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_checks_pass_on_built_marts_and_catch_bad_rows(warehouse):
    con = dbmod.connect(warehouse)
    try:
        assert checks.request_id_unique(con)[0]
        assert checks.file_lines_accounted(con, START, START)[0]
        for mart in marts.MARTS:
            for name in checks.applicable_mart_checks(mart):
                passed, meta = getattr(checks, name)(con, mart, START, START + dt.timedelta(days=1))
                assert passed, (mart, name, meta)
        passed, meta = checks.quarantine_rate(con, START, START, threshold=0.01)
        assert not passed and meta["quarantine_rate"] > 0.01  # bad_rate=0.02 injected
        assert checks.quarantine_rate(con, START, START, threshold=0.5)[0]
        # Break things on purpose: each check must notice.
        con.execute("UPDATE tool_call_rate_daily SET tool_call_rate = 1.5 WHERE rowid = (SELECT min(rowid) FROM tool_call_rate_daily)")
        passed, meta = checks.rates_in_unit_interval(con, "tool_call_rate_daily")
        assert not passed and "tool_call_rate: 1 rows" in meta["out_of_range"]
        con.execute("UPDATE model_mix_daily SET request_share = request_share + 0.01 WHERE day = ? AND rowid = (SELECT min(rowid) FROM model_mix_daily WHERE day = ?)", [START, START])
        passed, meta = checks.shares_sum_to_one(con, "model_mix_daily")
        assert not passed and str(START) in meta["days_not_summing_to_1"]
        con.execute("DELETE FROM cost_daily WHERE rowid = (SELECT min(rowid) FROM cost_daily)")
        passed, meta = checks.totals_match_requests(con, "cost_daily")
        assert not passed and meta["days_mismatched"] == 1
        con.execute("UPDATE ingested_files SET lines = lines + 1 WHERE rowid = (SELECT min(rowid) FROM ingested_files)")
        assert not checks.file_lines_accounted(con)[0]
        future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)
        con.execute("UPDATE requests SET ts = ? WHERE rowid = (SELECT min(rowid) FROM requests)", [future])
        passed, meta = checks.future_timestamps(con)
        assert not passed and meta["future_rows"] == 1
    finally:
        con.close()


def test_low_volume_day_warning(con):
    rows = []
    for i in range(10):
        day = START + dt.timedelta(days=i)
        n = 5 if i == 9 else 100
        rows += [(f"{day}-{j}", day) for j in range(n)]
    con.execute("CREATE TEMP TABLE src (request_id VARCHAR, day DATE)")
    con.executemany("INSERT INTO src VALUES (?, ?)", rows)
    con.execute(
        """INSERT INTO requests (request_id, ts, day, source_format, model, status, finish_reason, tool_call_count,
                                 input_tokens, output_tokens, attempts, source_file, line_no, ingested_at)
           SELECT request_id, day::TIMESTAMPTZ, day, 'canonical', 'm/x', 'success', 'stop', 0, 1, 1, 1, 'f', 1, now()
           FROM src"""
    )
    passed, meta = checks.low_volume_days(con)
    assert not passed and str(START + dt.timedelta(days=9)) in meta["low_days"]
    assert checks.low_volume_days(con, START, START + dt.timedelta(days=8))[0]


# ----------------------------------------------------------------------------- gatewaylens sql

runner = CliRunner()


def test_sql_reads_the_snapshot_as_table_and_csv(warehouse):
    con = dbmod.connect(warehouse)
    serving.publish_snapshot(con)
    per_day = con.sql("SELECT day, count(*) FROM requests GROUP BY day ORDER BY day").fetchall()
    con.execute("DELETE FROM requests")  # the warehouse changes; the snapshot does not
    con.close()
    res = runner.invoke(app, ["sql", "SELECT day, count(*) AS n FROM requests GROUP BY day ORDER BY day", "--csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == ["day,n"] + [f"{d},{n}" for d, n in per_day]
    res = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM requests"])
    assert res.exit_code == 0 and "400" in res.stdout and "n" in res.stdout


def test_console_worker_reads_the_raw_views_and_nothing_else_on_disk(warehouse):
    """The console's hardened instance may read the snapshot's raw Parquet folder, no other file."""
    from gatewaylens import sqlworker

    con = dbmod.connect(warehouse)
    result = serving.publish_snapshot(con)
    con.close()
    worker = sqlworker.connect(str(result.path), memory_mb=256, threads=1)
    try:
        assert worker.sql("SELECT count(*) FROM requests").fetchall() == [(400,)]
        with pytest.raises(duckdb.PermissionException):
            worker.sql(f"SELECT * FROM read_blob('{warehouse}')").fetchall()
        with pytest.raises(duckdb.Error):
            worker.execute("SET allowed_directories = ['/']")
    finally:
        worker.close()


def test_sql_falls_back_to_the_warehouse_with_a_note(warehouse):
    res = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM requests", "--csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == ["n", "400"]
    assert "no serving snapshot" in res.stderr


def test_sql_errors_are_clear_and_non_zero(warehouse, tmp_path):
    res = runner.invoke(app, ["sql", "DELETE FROM requests"])
    assert res.exit_code == 2 and "read-only" in res.stderr.lower()
    res = runner.invoke(app, ["sql", "SELECT nope FROM requests"])
    assert res.exit_code == 1 and "nope" in res.stderr and "DESCRIBE" in res.stderr
    res = runner.invoke(app, ["sql", "SELECT 1", "--db", str(tmp_path / "missing.duckdb")])
    assert res.exit_code == 2 and "missing.duckdb" in res.stderr
    res = runner.invoke(app, ["sql", "SELECT * FROM range(5)", "--limit", "2", "--csv"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3 and "only the first 2" in res.stderr
