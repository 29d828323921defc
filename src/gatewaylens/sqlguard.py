"""Guard and run ad-hoc SQL from people (the dashboard's SQL console) against a read-only snapshot.

Two layers, both using DuckDB's own parser rather than regular expressions:

1. :func:`inspect_sql` accepts exactly one statement of type SELECT (``duckdb.extract_statements``
   gives the type: SELECT also covers ``WITH``, ``FROM t``, ``VALUES``, ``DESCRIBE``, ``SHOW``,
   ``SUMMARIZE``). It then walks the parse tree from ``json_serialize_sql`` and refuses

   * any table function not on a small allow-list (``read_csv``, ``read_json``, ``read_parquet``,
     ``read_text``, ``read_blob``, ``glob``, ``sniff_csv``, ``query``, ``*_scan`` ... are all off it),
   * any table reference that looks like a path or URL (``FROM 'x.csv'``, ``FROM "http://..."``),
   * when the caller passes ``known_tables``: any table that is neither a known table/view nor a
     CTE of the statement (so DuckDB's replacement scans can never fire).

   Refused: INSERT/UPDATE/DELETE/CREATE/DROP/ALTER, ATTACH/DETACH, COPY/EXPORT, INSTALL/LOAD,
   SET/RESET/USE/PRAGMA/CALL/CHECKPOINT, transactions, EXPLAIN, PIVOT (a multi-statement), several
   statements at once.

2. :func:`run_guarded` runs an accepted statement on a fresh read-only connection with external
   access (files, URLs) and Python replacement scans switched off and the configuration locked;
   it wraps the statement as ``SELECT * FROM (<sql>) LIMIT n+1`` to enforce the row limit (and
   report truncation) and interrupts it after a time limit.

No Streamlit imports: the CLI can use the same functions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from gatewaylens.db import connect_readonly

# Table functions that only compute (no I/O): everything else is refused.
SAFE_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_constraints",
        "duckdb_indexes",
        "duckdb_keywords",
        "test_all_types",
        "summary",
    }
)

# Scalar functions that reach outside the database.
UNSAFE_SCALAR_FUNCTIONS = frozenset({"getenv", "read_text", "read_blob", "current_setting"})

_PATH_MARKERS = ("/", "\\", ":", ".")

DEFAULT_ROW_LIMIT = 10_000
DEFAULT_TIME_LIMIT_S = 10.0


class RefusedStatement(ValueError):
    """The statement is not allowed in the console; ``str(exc)`` says why and what to do."""


@dataclass
class Inspection:
    """What :func:`inspect_sql` learnt about an accepted statement."""

    sql: str  # the statement, without a trailing ';'
    tables: set[str] = field(default_factory=set)  # base tables referenced (lower-case)
    ctes: set[str] = field(default_factory=set)


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows existed than the row limit
    row_limit: int
    seconds: float


_TYPE_ADVICE = {
    "INSERT": "writes data",
    "UPDATE": "writes data",
    "DELETE": "writes data",
    "CREATE": "creates objects",
    "DROP": "drops objects",
    "ALTER": "alters objects",
    "ATTACH": "attaches another database",
    "DETACH": "detaches a database",
    "COPY": "reads or writes files",
    "EXPORT": "writes files",
    "LOAD": "installs or loads extensions",
    "SET": "changes settings",
    "PRAGMA": "changes or reads settings",
    "CALL": "calls a procedure",
    "TRANSACTION": "controls transactions",
    "EXPLAIN": "is an EXPLAIN (run the SELECT itself)",
    "MULTI": "expands to several statements (PIVOT: write it with GROUP BY / FILTER instead)",
    "VACUUM": "maintains storage",
}


def _type_name(stmt_type: object) -> str:
    return str(stmt_type).rsplit(".", 1)[-1].upper()


def _serialize(sql: str) -> dict:
    con = duckdb.connect(":memory:")
    try:
        return json.loads(con.sql("SELECT json_serialize_sql($q)", params={"q": sql}).fetchall()[0][0])
    finally:
        con.close()


def _walk(node: object, inspection: Inspection, known: set[str] | None) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")).lower()
            if name not in SAFE_TABLE_FUNCTIONS:
                raise RefusedStatement(
                    f"Refused: the table function {name}() is not allowed here (it may read "
                    "files or URLs). Query the tables listed in the schema browser instead."
                )
        elif kind == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            if any(m in table for m in _PATH_MARKERS) or table.lower().startswith(("http", "s3")):
                raise RefusedStatement(
                    f"Refused: {table!r} looks like a file path or URL used as a table; gatewaylens SQL only "
                    "reads the tables of the serving snapshot (see the schema browser)."
                )
            inspection.tables.add(table.lower())
        if node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in UNSAFE_SCALAR_FUNCTIONS:
                raise RefusedStatement(f"Refused: the function {name}() reaches outside the database.")
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []) or []:
                if isinstance(entry, dict) and "key" in entry:
                    inspection.ctes.add(str(entry["key"]).lower())
        for value in node.values():
            _walk(value, inspection, known)
    elif isinstance(node, list):
        for value in node:
            _walk(value, inspection, known)


def inspect_sql(sql: str, known_tables: Iterable[str] | None = None) -> Inspection:
    """Accept one read-only SELECT or raise :class:`RefusedStatement` with a clear reason.

    ``known_tables``: names of the tables/views that may be read; when given, any other table
    name (not a CTE) is refused before it reaches DuckDB.
    """
    text = (sql or "").strip()
    if not text.strip(";").strip():
        raise RefusedStatement("Nothing to run: type a SELECT statement.")
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise RefusedStatement(f"Could not parse the statement: {exc}") from None
    if len(statements) != 1:
        raise RefusedStatement(
            f"Refused: {len(statements)} statements given; give exactly one SELECT at a time."
        )
    kind = _type_name(statements[0].type)
    if kind != "SELECT":
        what = _TYPE_ADVICE.get(kind, "is not a read-only query")
        raise RefusedStatement(
            f"Refused: {kind} {what}. Ad-hoc SQL is read-only: only SELECT (WITH, FROM, DESCRIBE, SHOW, "
            "SUMMARIZE) statements are allowed."
        )
    body = text.rstrip().rstrip(";").rstrip()
    tree = _serialize(body)
    if tree.get("error"):
        raise RefusedStatement(f"Could not inspect the statement: {tree.get('error_message', 'unknown error')}")
    known = {t.lower() for t in known_tables} if known_tables is not None else None
    inspection = Inspection(sql=body)
    _walk(tree.get("statements", []), inspection, known)
    if known is not None:
        unknown = sorted(t for t in inspection.tables - inspection.ctes if t not in known)
        if unknown:
            raise RefusedStatement(
                f"Unknown table {', '.join(unknown)}: ad-hoc SQL reads only the snapshot's tables and "
                "views (see the schema browser)."
            )
    return inspection


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """Switch off file/URL access and Python replacement scans, then lock the configuration.
    A serving file's raw tables are views over day-partitioned Parquet: its raw folder (recorded by
    the publish, never user text) stays readable, nothing else."""
    from gatewaylens.serving import raw_root

    root = raw_root(con)
    if root:
        con.execute(f"SET allowed_directories = ['{root.rstrip('/').replace(chr(39), chr(39) * 2)}/']")
    con.execute("SET enable_external_access = false")
    con.execute("SET python_enable_replacements = false")
    con.execute("SET lock_configuration = true")


def known_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views of the main database, plus DuckDB's catalog views."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
    ).fetchall()
    names = {r[0].lower() for r in rows}
    names |= {"information_schema.tables", "information_schema.columns", "tables", "columns"}
    return names


def run_guarded(
    path: str | Path,
    sql: str,
    *,
    row_limit: int = DEFAULT_ROW_LIMIT,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> QueryResult:
    """Inspect and run ``sql`` read-only on the DuckDB file ``path``.

    Raises :class:`RefusedStatement` (not allowed), :class:`TimeoutError` (interrupted after
    ``time_limit_s``), FileNotFoundError (no database) or ``duckdb.Error`` (the query failed).
    At most ``row_limit`` rows come back; ``truncated`` says whether more existed.
    """
    if row_limit < 1:
        raise ValueError("row_limit must be >= 1")
    con = connect_readonly(path)
    try:
        harden(con)
        inspection = inspect_sql(sql, known_tables(con))
        # Newline before ')' so a trailing '-- comment' cannot swallow it.
        wrapped = f"SELECT * FROM (\n{inspection.sql}\n) AS console_query LIMIT {int(row_limit) + 1}"
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                outcome["frame"] = con.sql(wrapped).pl()
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        started = time.perf_counter()
        worker = threading.Thread(target=work, name="sqlguard-query", daemon=True)
        worker.start()
        worker.join(time_limit_s)
        if worker.is_alive():
            con.interrupt()
            worker.join(5.0)
            raise TimeoutError(
                f"The query ran longer than {time_limit_s:g} s and was stopped. Aggregate more, filter by day, "
                "or query a mart instead of a base table."
            )
        seconds = time.perf_counter() - started
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        frame = outcome["frame"]
        assert isinstance(frame, pl.DataFrame)
        truncated = frame.height > row_limit
        return QueryResult(frame.head(row_limit), truncated, row_limit, seconds)
    finally:
        con.close()
