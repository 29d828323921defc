"""The SQL console's guard: refuses every writing/escaping kind, runs reads with row and time limits."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from gatewaylens import sqlguard, sqlworker
from gatewaylens.sqlguard import RefusedStatement, inspect_sql, run_guarded


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS a, 'm' || (range % 3) AS model FROM range(100)")
    con.execute("CREATE VIEW v AS SELECT model, count(*) AS n FROM t GROUP BY model")
    con.close()
    (tmp_path / "x.csv").write_text("a\n1\n")
    return path


REFUSED = {
    "insert": ("INSERT INTO t VALUES (1, 'x')", "INSERT"),
    "update": ("UPDATE t SET a = 1", "UPDATE"),
    "delete": ("DELETE FROM t", "DELETE"),
    "create": ("CREATE TABLE u (a INTEGER)", "CREATE"),
    "create_view": ("CREATE VIEW w AS SELECT 1", "CREATE"),
    "drop": ("DROP TABLE t", "DROP"),
    "alter": ("ALTER TABLE t ADD COLUMN b INTEGER", "ALTER"),
    "attach": ("ATTACH 'other.duckdb' AS o", "ATTACH"),
    "detach": ("DETACH o", "DETACH"),
    "copy_to": ("COPY t TO 'out.csv'", "COPY"),
    "copy_from": ("COPY t FROM 'x.csv'", "COPY"),
    "export": ("EXPORT DATABASE 'dump'", "EXPORT"),
    "install": ("INSTALL httpfs", "LOAD"),
    "load": ("LOAD httpfs", "LOAD"),
    "set": ("SET enable_external_access = true", "SET"),
    "reset": ("RESET memory_limit", "SET"),
    "set_variable": ("SET VARIABLE x = 1", "SET"),
    "pragma": ("PRAGMA enable_profiling", "PRAGMA"),
    "call": ("CALL pragma_version()", "CALL"),
    "checkpoint": ("CHECKPOINT", "CALL"),
    "transaction": ("BEGIN TRANSACTION", "TRANSACTION"),
    "multiple": ("SELECT 1; DROP TABLE t", "2 statements"),
    "multiple_selects": ("SELECT 1; SELECT 2", "2 statements"),
    "read_csv": ("SELECT * FROM read_csv('x.csv')", "read_csv"),
    "read_csv_auto": ("SELECT * FROM read_csv_auto('x.csv')", "read_csv_auto"),
    "read_json": ("SELECT * FROM read_json('x.json')", "read_json"),
    "read_parquet": ("SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
    "read_text": ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    "read_blob": ("SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    "glob": ("SELECT * FROM glob('/etc/*')", "glob"),
    "nested_file_read": ("SELECT a FROM t WHERE a IN (SELECT 1 FROM read_csv('x.csv'))", "read_csv"),
    "file_read_in_cte": ("WITH c AS (SELECT * FROM read_parquet('x')) SELECT * FROM c", "read_parquet"),
    "quoted_path_table": ("SELECT * FROM 'x.csv'", "file path or URL"),
    "double_quoted_path": ('SELECT * FROM "/etc/passwd"', "file path or URL"),
    "url_table": ("SELECT * FROM 'https://example.com/data.parquet'", "file path or URL"),
    "getenv": ("SELECT getenv('HOME')", "getenv"),
    "query_function": ("SELECT * FROM query('SELECT 1')", "query"),
    "unknown_table": ("SELECT * FROM not_a_table", "Unknown table"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_kinds_say_why(kind: str, snapshot: Path) -> None:
    sql, expected = REFUSED[kind]
    with pytest.raises(RefusedStatement) as info:
        run_guarded(snapshot, sql)
    message = str(info.value)
    assert expected.lower() in message.lower()
    assert "refused" in message.lower() or "unknown table" in message.lower()
    # nothing changed
    con = duckdb.connect(str(snapshot), read_only=True)
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(100,)]
    con.close()


def test_empty_statement_is_refused_with_advice() -> None:
    with pytest.raises(RefusedStatement, match="type a SELECT"):
        inspect_sql("  ;  ")


def test_syntax_error_is_reported_not_crashed() -> None:
    with pytest.raises(RefusedStatement, match="parse"):
        inspect_sql("SELEC 1 FROM")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT model, count(*) AS n FROM t GROUP BY model ORDER BY model",
        "WITH c AS (SELECT * FROM t) SELECT count(*) FROM c",
        "FROM v ORDER BY model",
        "DESCRIBE t",
        "SELECT * FROM range(3)",
        "SELECT table_name FROM information_schema.tables",
        "SELECT 'x.csv' AS looks_like_a_path",  # a string value, not a table
        "SELECT * FROM t -- trailing comment",
        "SELECT count(*) FROM t;",
    ],
)
def test_reads_that_work(sql: str, snapshot: Path) -> None:
    res = run_guarded(snapshot, sql)
    assert res.frame.height >= 1
    assert not res.truncated


def test_read_returns_the_right_rows(snapshot: Path) -> None:
    res = run_guarded(snapshot, "SELECT model, n FROM v ORDER BY model")
    assert res.frame.rows() == [("m0", 34), ("m1", 33), ("m2", 33)]


def test_row_limit_truncates_and_says_so(snapshot: Path) -> None:
    res = run_guarded(snapshot, "SELECT * FROM t ORDER BY a", row_limit=10)
    assert res.frame.height == 10
    assert res.truncated
    assert res.frame["a"].to_list() == list(range(10))
    exact = run_guarded(snapshot, "SELECT * FROM t", row_limit=100)
    assert exact.frame.height == 100 and not exact.truncated


def test_time_limit_interrupts_a_long_query(snapshot: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match="longer than 0.5 s"):
        run_guarded(snapshot, "SELECT count(*) FROM range(1000000000000) a", time_limit_s=0.5)
    # 0.5 s of query + the worker's start (seconds on a loaded 2-core machine)
    assert time.perf_counter() - started < sqlguard.STARTUP_TIMEOUT_S


def test_hardened_connection_cannot_touch_files(snapshot: Path, tmp_path: Path) -> None:
    """Defence in depth: even a statement that slipped through the inspector cannot read files."""
    con = sqlworker.connect(str(snapshot), memory_mb=256, threads=1)
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    con.close()


def test_missing_database_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make demo"):
        run_guarded(tmp_path / "nope.duckdb", "SELECT 1")
