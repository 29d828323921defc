"""The worker process of the SQL console: one query, its own DuckDB instance, then exit.

``python -m gatewaylens.sqlworker`` is started by :func:`gatewaylens.sqlguard.run_guarded` for
every console / ``gatewaylens sql`` query. Protocol (stdin/stdout, binary):

1. the worker imports DuckDB and pyarrow and writes ``ready\\n``;
2. it reads ONE job as a JSON line ``{"path", "sql", "row_limit", "byte_limit", "memory_mb",
   "threads"}``;
3. it opens ``path`` read-only in a DuckDB instance of its own, configured at open time with
   ``memory_limit``, ``threads``, ``enable_external_access=false``, no spilling to disk
   (``temp_directory=''``) and the configuration locked; inspects the statement again with the
   snapshot's table names (:func:`gatewaylens.sqlguard.inspect_sql`); runs it as
   ``SELECT * FROM (<sql>) LIMIT row_limit+1`` and streams Arrow batches, stopping at
   ``row_limit`` rows or ``byte_limit`` bytes, whichever comes first;
4. it writes one JSON header line (``{"ok": true, "truncated": null|"rows"|"bytes", ...}`` or
   ``{"ok": false, "kind": "refused"|"memory"|"error", "message": ...}``) followed, when ok, by
   the rows as one Arrow IPC stream, and exits.

The parent enforces what the worker cannot promise for itself: it kills the process at the
wall-clock deadline (DuckDB's interrupt does not stop every operator) and when its resident
memory passes the hard cap (DuckDB's ``memory_limit`` does not cover every allocation).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.ipc

BATCH_ROWS = 2048


def connect(path: str, *, memory_mb: int, threads: int) -> duckdb.DuckDBPyConnection:
    """A read-only connection in a fresh DuckDB instance with the console's limits, locked.
    A serving file's raw tables are views over day-partitioned Parquet: its raw folder (recorded by
    the publish, never user text) stays readable, nothing else on disk."""
    from gatewaylens.serving import raw_root_of

    root = raw_root_of(path)
    con = duckdb.connect(
        path,
        read_only=True,
        config={
            "memory_limit": f"{int(memory_mb)}MiB",
            "threads": int(threads),
            "temp_directory": "",  # never spill a console query to disk
            "python_enable_replacements": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    # DuckDB accepts allowed_directories only once the database is started, and only while
    # external access is still on: set it, then switch external access off, then lock.
    if root:
        con.execute("SET allowed_directories = $dirs", {"dirs": [root.rstrip("/") + "/"]})
    con.execute("SET enable_external_access = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    return con


TEXT_TYPES = ("interval", "union")  # types polars cannot import: sent as DuckDB's own text


def as_text_where_needed(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """``rel`` with its INTERVAL / UNION columns cast to VARCHAR ('3 days'), by expression, not SQL text."""
    if not any(t.id in TEXT_TYPES for t in rel.types):
        return rel
    varchar = duckdb.sqltype("VARCHAR")
    return rel.select(
        *(
            duckdb.ColumnExpression(name).cast(varchar).alias(name) if t.id in TEXT_TYPES else duckdb.ColumnExpression(name)
            for name, t in zip(rel.columns, rel.types)
        )
    )


def _prefix_within(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The longest prefix of ``batch`` whose size is at most ``budget`` bytes (binary search)."""
    lo, hi = 0, batch.num_rows
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if batch.slice(0, mid).nbytes <= budget:
            lo = mid
        else:
            hi = mid - 1
    return batch.slice(0, lo)


def collect(reader: pa.RecordBatchReader, row_limit: int, byte_limit: int) -> tuple[list[pa.RecordBatch], str | None]:
    """Read batches until ``row_limit`` rows or ``byte_limit`` bytes; say which cap cut, if any."""
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in reader:
        if rows + batch.num_rows > row_limit:
            batch = batch.slice(0, row_limit - rows)
            cut: str | None = "rows"
        else:
            cut = None
        if size + batch.nbytes > byte_limit:
            batch = _prefix_within(batch, byte_limit - size)
            cut = "bytes"
        if batch.num_rows:
            batches.append(batch)
            rows += batch.num_rows
            size += batch.nbytes
        if cut:
            return batches, cut
    return batches, None


def run(job: dict[str, Any]) -> tuple[dict[str, Any], pa.Schema | None, list[pa.RecordBatch]]:
    """Run one job; returns (header, schema, batches). Never raises for a query's own failure."""
    from gatewaylens.db import is_lock_error
    from gatewaylens.sqlguard import RefusedStatement, inspect_sql, known_tables

    started = time.perf_counter()
    try:
        con = connect(job["path"], memory_mb=job["memory_mb"], threads=job["threads"])
    except duckdb.Error as exc:
        if is_lock_error(exc):
            message = (
                f"{job['path']} is locked by another process (a Dagster run or an ingest is writing it). "
                f"DuckDB said: {str(exc).splitlines()[0]}"
            )
            return {"ok": False, "kind": "locked", "message": message}, None, []
        return {"ok": False, "kind": "error", "message": str(exc)}, None, []
    try:
        inspection = inspect_sql(job["sql"], known_tables(con))
        # Newline before ')' so a trailing '-- comment' cannot swallow it.
        wrapped = f"SELECT * FROM (\n{inspection.sql}\n) AS console_query LIMIT {int(job['row_limit']) + 1}"
        reader = as_text_where_needed(con.sql(wrapped)).to_arrow_reader(BATCH_ROWS)
        batches, cut = collect(reader, int(job["row_limit"]), int(job["byte_limit"]))
        header = {
            "ok": True,
            "truncated": cut,
            "rows": sum(b.num_rows for b in batches),
            "bytes": sum(b.nbytes for b in batches),
            "seconds": time.perf_counter() - started,
        }
        return header, reader.schema, batches
    except RefusedStatement as exc:
        return {"ok": False, "kind": "refused", "message": str(exc)}, None, []
    except duckdb.OutOfMemoryException as exc:
        return {"ok": False, "kind": "memory", "message": str(exc).splitlines()[0]}, None, []
    except duckdb.Error as exc:
        return {"ok": False, "kind": "error", "message": str(exc)}, None, []
    except Exception as exc:  # e.g. a type pyarrow cannot stream: report it, do not die silently
        return {"ok": False, "kind": "error", "message": f"{type(exc).__name__}: {exc}"}, None, []


def write(out: BinaryIO, header: dict[str, Any], schema: pa.Schema | None, batches: list[pa.RecordBatch]) -> None:
    out.write(json.dumps(header).encode() + b"\n")
    if header.get("ok") and schema is not None:
        with pa.ipc.new_stream(out, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    out.flush()


def _exit_with_parent(poll_s: float = 0.5) -> None:
    """End this worker if its parent goes away (killed, crashed): a runaway query must not outlive the
    process that would have killed it at the deadline. DuckDB releases the GIL while it runs a query."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="sqlworker-parent-watch", daemon=True).start()


def main() -> None:
    _exit_with_parent()
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    line = sys.stdin.buffer.readline()
    if not line:  # the parent went away before sending a job
        return
    header, schema, batches = run(json.loads(line))
    write(out, header, schema, batches)
    out.flush()
    # Do not wait for DuckDB to tear down a query we stopped reading: the answer is sent.
    os._exit(0)


if __name__ == "__main__":
    main()
