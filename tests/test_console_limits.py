"""The SQL console cannot hurt anyone: each query is isolated in a worker process with hard limits.

Real DuckDB files, real worker processes. Runaway queries that ignore DuckDB's interrupt are
killed at the deadline; a memory-hungry query gets a clear "memory limit" message; huge results
are cut in the worker (rows and bytes) before they reach the caller; and nothing a console query
does changes the DuckDB instance the dashboard's own page queries use.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from gatewaylens import sqlguard
from gatewaylens.db import connect_readonly
from gatewaylens.results import csv_text, json_text
from gatewaylens.sqlguard import MemoryLimitExceeded, QueryTimeout, run_guarded

# Both ignore DuckDB's interrupt (issue #10): only killing the process ends them.
RUNAWAYS = [
    "SELECT len(list_distinct(list_reverse(range(60000000))))",
    "SELECT length(repeat('x', 2000000000))",
]


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS a, 'm' || (range % 3) AS model FROM range(1000)")
    con.close()
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.parametrize("sql", RUNAWAYS, ids=["list_distinct", "repeat"])
def test_runaway_queries_are_killed_at_the_deadline(snapshot: Path, sql: str) -> None:
    limit = 2.0
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="longer than 2 s") as info:
        # memory high enough that the time limit, not the memory cap, ends it
        run_guarded(snapshot, sql, time_limit_s=limit, memory_mb=4096, prewarm=False)
    elapsed = time.monotonic() - started
    assert info.value.query_seconds < limit + 1.0, info.value.query_seconds  # killed within the limit (+ one poll)
    assert elapsed < limit + sqlguard.STARTUP_TIMEOUT_S
    assert not _alive(info.value.pid), "the worker process is gone"


def test_memory_hungry_query_gets_a_clear_memory_limit_message(snapshot: Path) -> None:
    with pytest.raises(MemoryLimitExceeded, match=r"memory limit \(128 MiB\)"):
        run_guarded(snapshot, "SELECT count(DISTINCT i) FROM range(50000000) t(i)", memory_mb=128, time_limit_s=120, prewarm=False)


def test_memory_the_duckdb_limit_misses_is_capped_by_killing_the_worker(snapshot: Path) -> None:
    """list_distinct's memory is not all tracked by memory_limit: the resident-memory watchdog ends it."""
    limits = sqlguard.Limits.from_settings(memory_mb=64, byte_limit=sqlguard.MIB)
    with pytest.raises(MemoryLimitExceeded, match="memory limit") as info:
        run_guarded(snapshot, RUNAWAYS[0], memory_mb=64, byte_limit=sqlguard.MIB, time_limit_s=300, prewarm=False)
    assert info.value.peak_rss_bytes > limits.rss_cap_bytes
    assert not _alive(info.value.pid)


def test_huge_results_are_cut_in_the_worker_by_bytes(snapshot: Path) -> None:
    # ~1 GB of text if it were all fetched
    res = run_guarded(
        snapshot, "SELECT i, repeat('x', 10000) AS s FROM range(100000) t(i)", byte_limit=2 * sqlguard.MIB, prewarm=False
    )
    assert res.truncated and res.truncated_by == "bytes"
    assert 0 < res.frame.height < 100000
    assert res.frame.estimated_size() <= 2 * sqlguard.MIB + 64 * 1024
    assert res.frame["i"].to_list() == list(range(res.frame.height))  # a prefix, in order


def test_rows_are_cut_in_the_worker(snapshot: Path) -> None:
    res = run_guarded(snapshot, "SELECT a FROM t ORDER BY a", row_limit=7, prewarm=False)
    assert res.truncated_by == "rows" and res.frame["a"].to_list() == list(range(7))
    full = run_guarded(snapshot, "SELECT a FROM t", row_limit=1000, prewarm=False)
    assert not full.truncated and full.frame.height == 1000


def test_a_console_query_never_changes_the_dashboards_instance(snapshot: Path) -> None:
    """Root cause of "rebuild the marts" for everyone: the console used to lock the configuration of
    the DuckDB instance that every connection to the same file in the process shares."""
    page = connect_readonly(snapshot)  # what dashboards/charts/data.py does per page query
    try:
        run_guarded(snapshot, "SELECT count(*) FROM t")
        again = connect_readonly(snapshot)  # SET TimeZone must still work on the shared instance
        assert again.sql("SELECT current_setting('lock_configuration')").fetchall() == [(False,)]
        assert again.sql("SELECT current_setting('enable_external_access')").fetchall() == [(True,)]
        again.close()
    finally:
        page.close()


def test_page_queries_run_while_a_runaway_console_query_runs(snapshot: Path) -> None:
    outcome: dict[str, BaseException] = {}

    def runaway() -> None:
        try:
            run_guarded(snapshot, RUNAWAYS[1], time_limit_s=8, memory_mb=4096, prewarm=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["exc"] = exc

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    answers = []
    while thread.is_alive() and len(answers) < 20:
        con = connect_readonly(snapshot)
        answers.append(con.sql("SELECT count(*) FROM t").fetchall()[0][0])
        con.close()
        time.sleep(0.1)
    thread.join()
    assert answers and set(answers) == {1000}
    assert isinstance(outcome.get("exc"), QueryTimeout)


def test_types_polars_cannot_import_come_back_as_text(snapshot: Path) -> None:
    res = run_guarded(snapshot, "SELECT INTERVAL 3 DAY AS i, 1 AS a, 2 AS a", prewarm=False)
    assert res.frame.columns == ["i", "a", "a_1"]
    assert res.frame["i"].to_list() == ["3 days"]


def test_csv_and_json_of_nested_values(snapshot: Path) -> None:
    res = run_guarded(
        snapshot,
        "SELECT [1, 2] AS l, {'k': 'v', 'n': [1]} AS s, MAP {'a': 1} AS m, 'x,\"y\"' AS t, NULL::INT[] AS e",
        prewarm=False,
    )
    lines = csv_text(res.frame).splitlines()
    assert lines[0] == "l,s,m,t,e"
    assert lines[1] == '"[1,2]","{""k"":""v"",""n"":[1]}","{""a"":1}","x,""y""",'
    assert json_text(res.frame).splitlines()[1] == '{"l": [1, 2], "s": {"k": "v", "n": [1]}, "m": {"a": 1}, "t": "x,\\"y\\"", "e": null}'


def test_a_worker_does_not_outlive_its_parent(snapshot: Path, tmp_path: Path) -> None:
    """A dashboard killed mid-query must not leave its runaway query running."""
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\nfrom gatewaylens import sqlguard\n"
        f"sqlguard.run_guarded({str(snapshot)!r}, {RUNAWAYS[1]!r}, time_limit_s=600, memory_mb=4096, prewarm=False)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    worker = None
    deadline = time.monotonic() + 120
    while worker is None and time.monotonic() < deadline:
        time.sleep(0.5)
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    stat = (proc / "stat").read_text()
                    cmd = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"gatewaylens.sqlworker" in cmd and int(stat.rsplit(")", 1)[1].split()[1]) == parent.pid:
                    worker = int(proc.name)
    assert worker is not None, "the worker did not start"
    busy_by = time.monotonic() + 120  # wait until it is deep in the query (its memory grows)
    while (sqlguard._rss_bytes(worker) or 0) < 300 * sqlguard.MIB and time.monotonic() < busy_by:
        time.sleep(0.2)
    assert (sqlguard._rss_bytes(worker) or 0) >= 300 * sqlguard.MIB, "the worker never got busy"
    parent.kill()
    parent.wait()
    gone_by = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert not _alive(worker), "the worker kept running after its parent died"
