"""Storage modes: the lake gives the DuckDB file's marts exactly; partitions are published
atomically (a reader during a rewrite sees the old or the new file, never half); re-running a
source or a mart day replaces it; dedupe by request_id holds across the files of a day and across
sources of the same day partition; object storage through an fsspec filesystem (and its serving
file readable without it); the serving publish of one day touches only that day; the CLI writes
where the settings say. The DuckDB file and the local lake are built once for the module."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
import polars as pl
import pytest

from gatewaylens import db as dbmod
from gatewaylens import lake as lakemod
from gatewaylens import marts, serving
from gatewaylens.generator import generate
from tests.conftest import write_jsonl
from tests.fixtures import storage

START = dt.date(2026, 1, 5)
DAYS = 3


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lake_landing")
    generate(DAYS, 600, 21, root, start=START, bad_rate=0.02)
    return root


@pytest.fixture(scope="module")
def file_build(landing: Path, tmp_path_factory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """The landing days ingested and built in a DuckDB file, once for the module (tests only read it)."""
    path = tmp_path_factory.mktemp("lake_file") / "w.duckdb"
    return path, storage.build_in_duckdb_file(landing, path)


@pytest.fixture(scope="module")
def lake_build(landing: Path, tmp_path_factory) -> tuple[lakemod.Lake, dict[str, pl.DataFrame]]:
    """The same days in a local lake, once for the module (tests only read it)."""
    lake = lakemod.Lake(tmp_path_factory.mktemp("lake_local") / "lake")
    return lake, storage.build_in_lake(landing, lake)


def test_lake_marts_equal_the_duckdb_file(file_build, lake_build) -> None:
    (_, expected), (lake, actual) = file_build, lake_build
    storage.assert_marts_equal(actual, expected)
    # the comparison is not vacuous: the core marts have rows (some newer marts may be empty on 3 generated days)
    assert all(expected[m].height for m in ("tool_call_rate_daily", "cost_daily", "provider_variance", "load_profile_daily"))
    # one file per table and day, the day in the folder name only
    assert len(lake.files("requests")) == DAYS and len(lake.files("marts/cost_daily")) == DAYS
    assert "day" not in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{lake.files('requests')[0]}', hive_partitioning = false)").pl()["column_name"].to_list()


def test_a_late_day_reads_only_its_declared_days_and_gives_the_whole_build(tmp_path: Path) -> None:
    """The nightly path: a build of one late day reads its inputs' partitions start - lookback ..
    end only (lake.days_only, from the registry's lookback / history), and must give the rows a
    build of the whole range gave that day. A mart whose SELECT reads further back than its entry
    declares differs here (96 days of history: more than every lookback with these settings)."""
    from gatewaylens.config import MartSettings

    first, n = dt.date(2025, 3, 1), 96
    last = first + dt.timedelta(days=n - 1)
    generate(n, 40, 5, tmp_path / "landing", start=first)
    lake = lakemod.Lake(tmp_path / "lake")
    lakemod.ingest_source(first.isoformat(), [f for fs in storage.landing_days(tmp_path / "landing").values() for f in fs],
                          salt=storage.SALT, lake=lake)
    cfg = MartSettings(regression_history_days=42, anomaly_baseline_days=14)
    con = lakemod.connect(lake)
    try:
        lakemod.build_all(con, first, last, cfg, lake=lake)

        def last_day() -> dict[str, pl.DataFrame]:
            out = {}
            for name in marts.MARTS:
                start, end = marts.get(name).bound_days(last, last)
                out[name] = con.sql(f"SELECT * FROM {name} WHERE day BETWEEN ? AND ?", params=[start, end]).pl()
            return {k: v.sort(pl.all(), nulls_last=True) for k, v in out.items()}

        whole = last_day()
        scoped: dict[str, int] = {}
        real = lakemod.days_only

        def spy(con_, lake_, tables, start, end):
            for t in tables:
                scoped[t] = max(scoped.get(t, 0), len(lake_.files_between(t if t in lakemod.BASE_TABLES else f"marts/{t}",
                                                                           start, end)) if start else -1)
            return real(con_, lake_, tables, start, end)

        lakemod.days_only = spy
        try:
            lakemod.build_all(con, last, last, cfg, lake=lake)
        finally:
            lakemod.days_only = real
        # (this found usage_anomalies_daily zero-filling a subject's series from its first day in
        # the range read: a one-day build and a backfill differed; now each baseline starts at the
        # subject's first active day in its own window)
        storage.assert_marts_equal(last_day(), whole)
        assert sum(f.height for f in whole.values()) > 100
        # not vacuous: the late build read fewer request days than the lake holds (user_activity_daily: 91 of 96)
        assert 0 < scoped["requests"] < n == len(lake.files("requests"))
        # and a view is a glob view again after the build (no temp view left behind)
        assert con.sql("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()[0][0] == 0
    finally:
        con.close()


def _line(rid: str, ts: str, **kw) -> dict:
    return {"request_id": rid, "ts": ts, "model": "openai/gpt-5", "provider": "openai", "status": "success",
            "finish_reason": "stop", "input_tokens": 10, "output_tokens": 5, **kw}


def _counts(lake: lakemod.Lake) -> tuple[int, int, int]:
    con = lakemod.connect(lake)
    try:
        return con.sql("SELECT (SELECT count(*) FROM requests), (SELECT count(DISTINCT request_id) FROM requests), "
                       "(SELECT sum(duplicates) FROM ingested_files)").fetchall()[0]
    finally:
        con.close()


def test_dedupe_across_files_of_a_day_and_across_sources(tmp_path: Path) -> None:
    lake = lakemod.Lake(tmp_path / "lake")
    day = tmp_path / "landing" / "2026" / "01" / "05"
    a = write_jsonl(day / "a.jsonl", [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(10)])
    b = write_jsonl(day / "b.jsonl", [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(5, 15)])
    res = lakemod.ingest_source("2026-01-05", [a, b], salt="s", lake=lake)
    assert (res.files[1].rows_inserted, res.files[1].duplicates) == (5, 5)
    assert _counts(lake) == (15, 15, 5)
    # The next landing day re-logs r0..r2 (same ts, so the same day partition) and one new request of 23:59.
    late = write_jsonl(tmp_path / "landing" / "2026" / "01" / "06" / "c.jsonl",
                       [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(3)] + [_line("r99", "2026-01-05T23:59:00Z")])
    res2 = lakemod.ingest_source("2026-01-06", [late], salt="s", lake=lake)
    assert (res2.files[0].rows_inserted, res2.files[0].duplicates, res2.cross_source_duplicates) == (1, 3, 3)
    assert res2.days == [dt.date(2026, 1, 5)]
    assert _counts(lake) == (16, 16, 8)
    # every file still adds up
    con = lakemod.connect(lake)
    bad = con.sql("SELECT count(*) FROM ingested_files WHERE records <> rows_inserted + duplicates + quarantined + merged").fetchall()
    con.close()
    assert bad == [(0,)]


def test_rerun_replaces_a_source_and_a_mart_day(tmp_path: Path) -> None:
    lake = lakemod.Lake(tmp_path / "lake")
    folder = tmp_path / "landing" / "2026" / "01" / "05"
    a = write_jsonl(folder / "a.jsonl", [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(10)]
                    + [_line("x1", "2026-01-04T23:00:00Z")])
    lakemod.ingest_source("2026-01-05", [a], salt="s", lake=lake)
    lakemod.ingest_source("2026-01-05", [a], salt="s", lake=lake)  # same input: same rows, no duplicates
    assert _counts(lake) == (11, 11, 0)
    assert len(lake.files("requests")) == 2  # day=2026-01-04 and day=2026-01-05, one file each
    con = lakemod.connect(lake)
    lakemod.build_mart(con, "tool_call_rate_daily", dt.date(2026, 1, 5), lake=lake)
    assert con.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall() == [(10,)]
    # The source changes (the late 23:00 line is gone, fewer requests): a re-run replaces all its files.
    write_jsonl(folder / "a.jsonl", [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(4)])
    lakemod.ingest_source("2026-01-05", [a], salt="s", lake=lake)
    assert _counts(lake) == (4, 4, 0)
    assert [Path(f).parent.name for f in lake.files("requests")] == ["day=2026-01-05"]
    lakemod.build_mart(con, "tool_call_rate_daily", dt.date(2026, 1, 5), lake=lake)
    assert con.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall() == [(4,)]
    assert len(lake.files("marts/tool_call_rate_daily")) == 1
    con.close()


def test_reader_during_rewrites_sees_old_or_new_partition(tmp_path: Path) -> None:
    """A writer rewrites one partition file 40 times (alternately 20k and 30k rows) while a reader
    counts it in a loop: every count is 20k or 30k, never a partial file or an error."""
    lake = lakemod.Lake(tmp_path / "lake")
    writer = duckdb.connect()
    day = dt.date(2026, 1, 5)
    query = "SELECT range AS n, repeat('x', 50) AS pad FROM range(?)"
    lake.write(writer, query, [20_000], "t", day, "data")
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        reader = duckdb.connect()
        while not done.is_set():
            try:
                seen.append(reader.sql(f"SELECT count(*) FROM read_parquet('{lake.glob('t')}')").fetchall()[0][0])
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(40):
            lake.write(writer, query, [30_000 if i % 2 == 0 else 20_000], "t", day, "data")
    finally:
        done.set()
        thread.join(30)
    assert not errors, errors[:3]
    assert len(seen) > 10 and set(seen) <= {20_000, 30_000}
    assert [p.name for p in Path(lake.partition("t", day)).iterdir()] == ["data.parquet"]  # no temp file left



def test_write_days_writes_each_wanted_day_once(tmp_path: Path) -> None:
    """One partitioned pass: each wanted day's rows in its own file (the day as the partition, not a
    column), an empty file for a wanted day without rows (it replaces the old one), other days
    untouched, no scratch folder left."""
    lake = lakemod.Lake(tmp_path / "lake")
    con = duckdb.connect()
    d = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4)]
    lake.write(con, "SELECT 99 AS n", [], "t", d[2], "data")  # replaced by an empty file below
    lake.write(con, "SELECT 7 AS n", [], "t", d[3], "data")  # not wanted: kept as it is
    rows = "SELECT n, DATE '2026-01-01' + CAST(n % 2 AS INTEGER) AS day FROM range(?) t(n)"  # days 0 and 1
    written = lake.write_days(con, rows, [1000], "t", d[:3], "data")
    assert written == [f"{lake.partition('t', day)}/data.parquet" for day in d[:3]]
    got = con.sql(f"SELECT day, count(*), sum(n) FROM read_parquet('{lake.glob('t')}', hive_partitioning = true, "
                  "hive_types = {'day': DATE}) GROUP BY day ORDER BY day").fetchall()
    assert got == [(d[0], 500, sum(range(0, 1000, 2))), (d[1], 500, sum(range(1, 1000, 2))), (d[3], 1, 7)]
    empty = con.sql(f"SELECT * FROM read_parquet('{written[2]}', hive_partitioning = false)")
    assert empty.columns == ["n"] and empty.fetchall() == []  # empty, with the columns
    assert sorted(p.name for p in Path(lake.folder("t")).iterdir()) == [f"day={day}" for day in d]
    assert all(len(list(Path(lake.partition("t", day)).iterdir())) == 1 for day in d)

def test_object_storage_through_an_fsspec_filesystem(landing: Path, lake_build, tmp_path: Path) -> None:
    """The lake on an fsspec URL (memory://, standing in for s3://): same marts as a local lake. Its
    serving file is readable by a reader that cannot reach the lake (a DuckDB without the fsspec
    filesystem, `gatewaylens sql`'s worker process): the raw files are mirrored beside it, and the
    next publish copies only the files that changed."""
    import fsspec

    remote = lakemod.Lake("memory://gl-test-lake")
    target = tmp_path / "serving.duckdb"
    last = START + dt.timedelta(days=DAYS - 1)
    try:
        actual = storage.build_in_lake(landing, remote)
        storage.assert_marts_equal(actual, lake_build[1])
        assert remote.files("requests")[0].startswith("memory://gl-test-lake/requests/day=")
        con = lakemod.connect(remote)
        try:
            n = con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
            first = serving.publish_snapshot(con, target, days=(START, last), lake=remote)
            assert first.full and first.raw_files_copied == sum(len(remote.listing(t)) for t in serving.RAW_TABLES
                                                                 + serving.SMALL_TABLES)
            # the last landing day is ingested again (its files are rewritten): only they are copied
            lakemod.ingest_source(last.isoformat(), storage.landing_days(landing)[last], salt=storage.SALT, lake=remote)
            second = serving.publish_snapshot(con, target, days=(last, last), lake=remote)
        finally:
            con.close()
        rewritten = [f for t in serving.RAW_TABLES + serving.SMALL_TABLES for f, *_ in remote.listing(t)
                     if f.endswith(f"/from-{last}.parquet")]
        assert not second.full and second.raw_files_copied == len(rewritten) > 0
        reader = dbmod.connect_readonly(target)  # plain DuckDB: no memory:// filesystem registered
        try:
            assert reader.sql("SELECT count(*) FROM requests").fetchall()[0][0] == n
            assert reader.sql("SELECT count(*), count(DISTINCT request_id) FROM v_requests").fetchall() == [(n, n)]
            assert reader.sql("SELECT sum(records) FROM ingested_files").fetchall()[0][0] > n
            assert reader.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall()[0][0] == n
        finally:
            reader.close()
        mirror = Path(serving.raw_mirror_for(target.resolve()))
        assert serving.raw_root_of(target) == str(mirror)
        # the previous snapshot's copies of the rewritten files are kept for its readers, nothing older
        assert len(list(mirror.rglob("*.parquet"))) == first.raw_files_copied + len(rewritten)
    finally:
        fsspec.filesystem("memory").rm("/gl-test-lake", recursive=True)
    # gatewaylens sql runs each query in a worker process (external access off, only the mirror allowed)
    from typer.testing import CliRunner

    from gatewaylens.cli import app

    res = CliRunner().invoke(app, ["sql", "SELECT count(*) AS n FROM requests", "--db", str(target), "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["n", str(n)]


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


@pytest.mark.parametrize("mode", ["duckdb", "lake"])
def test_serving_publish_of_one_day_touches_only_that_day(file_build, lake_build, tmp_path: Path, mode: str) -> None:
    last = START + dt.timedelta(days=DAYS - 1)
    target = tmp_path / "serving.duckdb"
    if mode == "duckdb":
        con, lake = dbmod.connect(file_build[0]), None
    else:
        lake = lake_build[0]
        con = lakemod.connect(lake)
    try:
        first = serving.publish_snapshot(con, target, days=(START, last), lake=lake)
        assert first.full
        raw = Path(lake.root) if lake else serving.raw_mirror_for(target.resolve())
        before_files = _mtimes(raw)
        reader = dbmod.connect_readonly(target)
        before = {m: reader.sql(f"SELECT * FROM {m} WHERE day <> $d", params={"d": last}).pl().sort(pl.all())
                  for m in marts.MARTS}
        n_before = reader.sql("SELECT count(*) FROM requests").fetchall()[0][0]
        reader.close()
        second = serving.publish_snapshot(con, target, days=(last, last), lake=lake)
    finally:
        con.close()
    assert not second.full
    after_files = _mtimes(raw)
    changed = {f for f in after_files if before_files.get(f) != after_files[f]}
    if mode == "duckdb":
        assert second.raw_days == [last]
        assert changed and all(f"day={last}" in f for f in changed), changed  # only the run's day was exported
    else:
        assert changed == set()  # the lake is read in place
    reader = dbmod.connect_readonly(target)
    try:
        for m in marts.MARTS:  # other days' mart rows untouched, the run's day rewritten
            other = reader.sql(f"SELECT * FROM {m} WHERE day <> $d", params={"d": last}).pl().sort(pl.all())
            assert other.equals(before[m]), m
            if marts.get(m).grain == "day":
                assert second.tables[m] == reader.sql(f"SELECT count(*) FROM {m} WHERE day = $d", params={"d": last}).fetchall()[0][0]
        assert reader.sql("SELECT count(*) FROM requests").fetchall()[0][0] == n_before
        assert reader.sql("SELECT count(*) FROM v_requests").fetchall()[0][0] == n_before
    finally:
        reader.close()


def test_dagster_job_in_lake_mode(env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The whole graph (ingest, marts, checks, serving) on the lake through real Dagster."""
    import dagster as dg

    monkeypatch.setenv("GATEWAYLENS_STORAGE", "lake")
    monkeypatch.setenv("GATEWAYLENS_LAKE", str(tmp_path / "lake"))
    generate(2, 150, 5, env["landing"], start=START)
    from pipelines.definitions import defs

    job = defs().resolve_job_def("gatewaylens_all")
    end = START + dt.timedelta(days=1)
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        tags={"dagster/asset_partition_range_start": START.isoformat(), "dagster/asset_partition_range_end": end.isoformat()})
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.severity == dg.AssetCheckSeverity.ERROR)
    assert not env["db"].exists()  # nothing written to the DuckDB file
    lake = lakemod.Lake(tmp_path / "lake")
    assert len(lake.files("requests")) == 2 and len(lake.files("marts/provider_ranking")) == 2
    snap = dbmod.connect_readonly(env["db"].with_name("warehouse.serving.duckdb"))
    try:
        assert snap.sql("SELECT count(*) FROM requests").fetchall() == [(300,)]
        assert snap.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall() == [(300,)]
    finally:
        snap.close()


def test_cli_ingest_and_build_go_to_the_lake(landing: Path, file_build, env, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    """`gatewaylens ingest` / `build` with GATEWAYLENS_STORAGE=lake: each landing day is one source,
    the marts are partition files, equal to the DuckDB file's; nothing is written to the file."""
    from typer.testing import CliRunner

    from gatewaylens.cli import app

    root = tmp_path / "lake"
    monkeypatch.setenv("GATEWAYLENS_STORAGE", "lake")
    monkeypatch.setenv("GATEWAYLENS_LAKE", str(root))
    monkeypatch.setenv("GATEWAYLENS_SALT", storage.SALT)
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(landing)])
    assert res.exit_code == 0, res.output
    assert f"lake {root}" in res.output
    res = runner.invoke(app, ["build", "--all"])
    assert res.exit_code == 0, res.output
    lake = lakemod.Lake(root)
    assert len(lake.files("requests")) == DAYS and not env["db"].exists()
    con = lakemod.connect(lake)
    try:
        storage.assert_marts_equal(storage.mart_frames(con), file_build[1])
    finally:
        con.close()
    # --rebuild drops every mart's files, then builds the range given
    res = runner.invoke(app, ["build", "--rebuild", "--day", START.isoformat()])
    assert res.exit_code == 0, res.output
    assert {Path(f).parent.name for f in lake.files("marts/cost_daily")} == {f"day={START}"}


def test_cli_lake_ingest_takes_whole_landing_days(tmp_path: Path, env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A landing day replaces what it wrote before, so the CLI refuses part of a day's files, and
    names the landing day of files outside YYYY/MM/DD/ only when told (--source)."""
    from typer.testing import CliRunner

    from gatewaylens.cli import app

    monkeypatch.setenv("GATEWAYLENS_STORAGE", "lake")
    monkeypatch.setenv("GATEWAYLENS_LAKE", str(tmp_path / "lake"))
    day = tmp_path / "landing" / "2026" / "01" / "05"
    a = write_jsonl(day / "a.jsonl", [_line(f"r{i}", "2026-01-05T10:00:00Z") for i in range(3)])
    write_jsonl(day / "b.jsonl", [_line(f"s{i}", "2026-01-05T11:00:00Z") for i in range(2)])
    loose = write_jsonl(tmp_path / "export.jsonl", [_line("x1", "2026-01-04T09:00:00Z")])
    runner = CliRunner()
    part = runner.invoke(app, ["ingest", str(a)])
    assert part.exit_code == 2 and "whole" in part.output and "b.jsonl" in part.output
    outside = runner.invoke(app, ["ingest", str(loose)])
    assert outside.exit_code == 2 and "--source" in outside.output
    with_db = runner.invoke(app, ["ingest", str(day), "--db", str(tmp_path / "x.duckdb")])
    assert with_db.exit_code == 2 and "GATEWAYLENS_STORAGE=duckdb" in with_db.output
    assert not (tmp_path / "lake").exists()  # refused before anything was written
    assert runner.invoke(app, ["ingest", str(day)]).exit_code == 0
    res = runner.invoke(app, ["ingest", str(loose), "--source", "2026-01-06"])
    assert res.exit_code == 0, res.output
    assert _counts(lakemod.Lake(tmp_path / "lake")) == (6, 6, 0)
