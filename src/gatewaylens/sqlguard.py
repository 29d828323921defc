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

2. :func:`run_guarded` runs an accepted statement isolated from every other reader: in a worker
   process of its own (:mod:`gatewaylens.sqlworker`) with its own DuckDB instance, opened
   read-only with ``memory_limit``, ``threads``, ``enable_external_access=false``, no spilling
   and the configuration locked. The worker wraps the statement as
   ``SELECT * FROM (<sql>) LIMIT n+1`` and streams the result, stopping at the row cap or the
   byte cap; this process kills the worker at the wall-clock deadline (DuckDB's interrupt does
   not stop every operator) or when its resident memory passes ``memory_limit`` + headroom.
   Nothing the statement does can change the settings of a connection anyone else uses: the
   dashboard's page queries never share a DuckDB instance with a console query.

No Streamlit imports: the CLI and the dashboard use the same functions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

import duckdb

from gatewaylens.db import WarehouseLockedError, require_file

if TYPE_CHECKING:  # polars and pyarrow are imported where used: the worker process needs neither to inspect
    import polars as pl
    import pyarrow as pa

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


class RefusedStatement(ValueError):
    """The statement is not allowed in the console; ``str(exc)`` says why and what to do."""


@dataclass
class Inspection:
    """What :func:`inspect_sql` learnt about an accepted statement."""

    sql: str  # the statement, without a trailing ';'
    tables: set[str] = field(default_factory=set)  # base tables referenced (lower-case)
    ctes: set[str] = field(default_factory=set)


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



def known_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views of the main database, plus DuckDB's catalog views."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
    ).fetchall()
    names = {r[0].lower() for r in rows}
    names |= {"information_schema.tables", "information_schema.columns", "tables", "columns"}
    return names


# ----------------------------------------------------------------------------- running, isolated

MIB = 1024 * 1024
RSS_HEADROOM_MB = 512  # the worker's Python, DuckDB and pyarrow themselves, above memory_limit
STARTUP_TIMEOUT_S = 60.0  # a loaded machine can take seconds to import DuckDB; not part of the query's time
POLL_S = 0.05


class QueryFailed(RuntimeError):
    """The query ran and failed (DuckDB's message, first line, in ``str(exc)``)."""


class MemoryLimitExceeded(QueryFailed):
    """The query needed more memory than the console allows and was stopped.

    ``pid``: the worker; ``peak_rss_bytes``: its resident memory when it was killed (None when
    DuckDB itself refused the allocation)."""

    pid: int | None = None
    peak_rss_bytes: int | None = None


class QueryTimeout(TimeoutError):
    """The query ran longer than the time limit; its worker process (``pid``) was killed after
    ``query_seconds``."""

    pid: int | None = None
    query_seconds: float | None = None


@dataclass(frozen=True)
class Limits:
    """What one console query may use. Defaults come from :class:`gatewaylens.config.Settings`."""

    row_limit: int
    byte_limit: int  # bytes of result (Arrow size) sent back
    time_limit_s: float  # wall clock from the moment the worker has the statement
    memory_mb: int  # DuckDB memory_limit of the worker's instance
    threads: int

    @classmethod
    def from_settings(cls, **overrides: float | int | None) -> Limits:
        from gatewaylens.config import settings

        cfg = settings()
        values = {
            "row_limit": cfg.console_row_limit,
            "byte_limit": cfg.console_result_mb * MIB,
            "time_limit_s": cfg.console_timeout_s,
            "memory_mb": cfg.console_memory_mb,
            "threads": cfg.console_threads,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        limits = cls(**values)  # type: ignore[arg-type]
        if limits.row_limit < 1 or limits.byte_limit < 1 or limits.memory_mb < 1 or limits.threads < 1:
            raise ValueError(f"console limits must be >= 1: {limits}")
        return limits

    @property
    def rss_cap_bytes(self) -> int:
        """Resident memory at which the worker is killed: memory_limit + headroom + 2 x the result cap."""
        return (self.memory_mb + RSS_HEADROOM_MB) * MIB + 2 * self.byte_limit


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows existed than were returned
    row_limit: int
    seconds: float
    truncated_by: str | None = None  # "rows" (row limit) or "bytes" (result size cap)
    byte_limit: int = 0


def _rss_bytes(pid: int) -> int | None:
    """Resident set size of a process (Linux /proc); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _memory_message(limits: Limits) -> str:
    return (
        f"The query needed more memory than the console's memory limit ({limits.memory_mb:,} MiB) and was "
        "stopped. Aggregate more, filter by day, or query a mart instead of a base table."
    )


def _to_frame(table: pa.Table) -> pl.DataFrame:
    """Arrow -> polars; a column polars cannot import (INTERVAL, UNION) becomes its text."""
    import polars as pl

    columns: list[pl.Series] = []
    seen: dict[str, int] = {}
    for name, col in zip(table.column_names, table.columns):
        n = seen.get(name, 0)
        seen[name] = n + 1
        label = name if n == 0 else f"{name}_{n}"
        try:
            series = pl.Series(label, pl.from_arrow(col))
        except Exception:
            series = pl.Series(label, [None if v is None else str(v) for v in col.to_pylist()], dtype=pl.String)
        columns.append(series)
    return pl.DataFrame(columns)


@dataclass
class _Worker:
    proc: subprocess.Popen
    stderr: IO[bytes]

    @classmethod
    def spawn(cls) -> _Worker:
        stderr = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewaylens.sqlworker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        return cls(proc, stderr)


# One idle worker kept ready (DuckDB imported, waiting for its job) so a query does not wait for a
# Python start; it serves exactly one query like any other worker. It exits when this process does
# (its stdin closes).
_spare: _Worker | None = None
_spare_lock = threading.Lock()


def _take_worker(prewarm: bool) -> _Worker:
    global _spare
    with _spare_lock:
        worker = _spare if _spare is not None and _spare.proc.poll() is None else None
        _spare = _Worker.spawn() if prewarm else None
    return worker or _Worker.spawn()


class _Reader(threading.Thread):
    """Reads the worker's stdout: the ``ready`` line, then everything up to ``cap`` bytes."""

    def __init__(self, stream: BinaryIO, cap: int) -> None:
        super().__init__(name="sqlguard-reader", daemon=True)
        self.stream, self.cap = stream, cap
        self.ready = threading.Event()
        self.data = bytearray()
        self.overflow = False

    def run(self) -> None:
        if self.stream.readline() == b"ready\n":
            self.ready.set()
        while chunk := self.stream.read1(1 << 20):
            self.data += chunk
            if len(self.data) > self.cap:
                self.overflow = True
                return


def run_guarded(
    path: str | Path,
    sql: str,
    *,
    row_limit: int | None = None,
    time_limit_s: float | None = None,
    byte_limit: int | None = None,
    memory_mb: int | None = None,
    threads: int | None = None,
    prewarm: bool = True,
) -> QueryResult:
    """Inspect ``sql`` and run it read-only on the DuckDB file ``path`` in a worker process of its own.

    Limits not given come from the settings (:class:`Limits`). Raises :class:`RefusedStatement`
    (not allowed), :class:`QueryTimeout` (a ``TimeoutError``: killed at the deadline),
    :class:`MemoryLimitExceeded` (over the memory limit), :class:`QueryFailed` (DuckDB's error),
    FileNotFoundError (no database) or WarehouseLockedError (a writer holds the file).
    At most ``row_limit`` rows and ``byte_limit`` bytes come back; ``truncated`` says whether
    more existed and ``truncated_by`` which cap cut. ``prewarm`` keeps a spare worker started for
    the next query (the dashboard); a one-shot caller (the CLI) passes False.
    """
    limits = Limits.from_settings(
        row_limit=row_limit, time_limit_s=time_limit_s, byte_limit=byte_limit, memory_mb=memory_mb, threads=threads
    )
    inspect_sql(sql)  # refuse what is refused without starting a worker
    path = require_file(path)
    job = {
        "path": str(path.resolve()),
        "sql": sql,
        "row_limit": limits.row_limit,
        "byte_limit": limits.byte_limit,
        "memory_mb": limits.memory_mb,
        "threads": limits.threads,
    }
    worker = _take_worker(prewarm)
    proc, stderr = worker.proc, worker.stderr
    assert proc.stdin is not None and proc.stdout is not None
    reader = _Reader(proc.stdout, cap=2 * limits.byte_limit + 4 * MIB)
    with stderr:
        try:
            reader.start()
            startup_deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not reader.ready.wait(POLL_S):
                if not reader.is_alive() or time.monotonic() > startup_deadline:
                    raise QueryFailed(_worker_died(proc, stderr, "did not start"))
            proc.stdin.write(json.dumps(job).encode() + b"\n")
            proc.stdin.close()
            started = time.monotonic()
            deadline = started + limits.time_limit_s
            while reader.is_alive():
                reader.join(POLL_S)
                rss = _rss_bytes(proc.pid)
                if rss is not None and rss > limits.rss_cap_bytes and reader.is_alive():
                    oom = MemoryLimitExceeded(_memory_message(limits))
                    oom.pid, oom.peak_rss_bytes = proc.pid, rss
                    raise oom
                if time.monotonic() > deadline and reader.is_alive():
                    late = QueryTimeout(
                        f"The query ran longer than {limits.time_limit_s:g} s and was stopped. Aggregate more, "
                        "filter by day, or query a mart instead of a base table."
                    )
                    late.pid, late.query_seconds = proc.pid, time.monotonic() - started
                    raise late
            seconds = time.monotonic() - started
            if reader.overflow:
                raise QueryFailed("The query worker sent more than the result size cap; the result was dropped.")
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(1.0)
            proc.stdout.close()
        head, _, body = bytes(reader.data).partition(b"\n")
        if not head:
            raise QueryFailed(_worker_died(proc, stderr, f"exited with code {proc.returncode}"))
    header = json.loads(head)
    if not header["ok"]:
        kind, message = header["kind"], header["message"]
        if kind == "refused":
            raise RefusedStatement(message)
        if kind == "memory":
            oom = MemoryLimitExceeded(f"{_memory_message(limits)} DuckDB said: {message}")
            oom.pid = proc.pid
            raise oom
        if kind == "locked":
            raise WarehouseLockedError(message)
        raise QueryFailed(message)
    import pyarrow.ipc

    frame = _to_frame(pyarrow.ipc.open_stream(body).read_all())
    return QueryResult(
        frame=frame,
        truncated=header["truncated"] is not None,
        row_limit=limits.row_limit,
        seconds=seconds,
        truncated_by=header["truncated"],
        byte_limit=limits.byte_limit,
    )


def _worker_died(proc: subprocess.Popen, stderr: IO[bytes], what: str) -> str:
    stderr.seek(0)
    tail = stderr.read()[-2000:].decode(errors="replace").strip()
    return f"The query worker {what}." + (f" It said: {tail.splitlines()[-1]}" if tail else "")
