"""The serving snapshot: a read-only copy of the warehouse that readers open while runs write.

DuckDB allows one writer process *or* many read-only readers of a file, never both. So the
pipeline is the only process that opens the warehouse (``GATEWAYLENS_DB``), and the last step of
every run publishes a snapshot of it (``GATEWAYLENS_SERVING``, default
``data/gatewaylens.serving.duckdb``) that the dashboard, ``gatewaylens sql`` and analysts open
read-only.

Publishing is atomic (:func:`publish_snapshot`):

1. ``ATTACH`` a temporary file beside the snapshot and ``COPY FROM DATABASE`` the warehouse into
   it (tables, views, macros; a compact file, whatever was deleted in the warehouse);
2. checkpoint and detach it (no ``.wal`` is left behind), ``fsync`` it;
3. ``os.replace`` it onto the snapshot path.

Step 3 is one rename on the same file system: a reader that opens the path gets either the old
file or the new one, never a half-written one; a reader that already has the old file open keeps
reading the old inode until it closes. Nothing waits on readers and readers wait on nothing.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from gatewaylens.config import settings

SNAPSHOT_ALIAS = "gl_snapshot"  # fixed catalog alias of the temporary file while it is written


@dataclass
class PublishResult:
    path: Path  # the published snapshot
    tables: dict[str, int] = field(default_factory=dict)  # table -> row count in the snapshot
    views: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


def _quote_ident(name: str) -> str:
    """Quote an identifier that comes from DuckDB's own catalog (never from user text)."""
    return '"' + name.replace('"', '""') + '"'


def publish_snapshot(con: duckdb.DuckDBPyConnection, serving_path: str | Path | None = None) -> PublishResult:
    """Copy the database of ``con`` (the warehouse, opened for writing) into the serving snapshot
    atomically. ``serving_path`` defaults to ``settings().serving_path``.

    Holding the write connection guarantees that nothing changes the warehouse during the copy.
    Raises ``duckdb.Error`` if the copy fails; the previous snapshot is then left untouched and the
    temporary file is removed.
    """
    started = time.perf_counter()
    target = Path(serving_path or settings().serving_path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    attached = False
    try:
        con.execute("ATTACH ? AS " + SNAPSHOT_ALIAS, [str(tmp)])
        attached = True
        con.execute(f"COPY FROM DATABASE {_quote_ident(source)} TO {SNAPSHOT_ALIAS}")
        tables = {
            name: 0
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary ORDER BY table_name",
                [SNAPSHOT_ALIAS],
            ).fetchall()
        }
        for name in tables:  # names from the catalog, quoted
            tables[name] = int(
                con.execute(f"SELECT count(*) FROM {SNAPSHOT_ALIAS}.main.{_quote_ident(name)}").fetchall()[0][0]
            )
        views = [
            name
            for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal ORDER BY view_name",
                [SNAPSHOT_ALIAS],
            ).fetchall()
        ]
        con.execute(f"CHECKPOINT {SNAPSHOT_ALIAS}")
        con.execute(f"DETACH {SNAPSHOT_ALIAS}")
        attached = False
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():  # DETACH checkpoints; a WAL here would mean the copy is not all in the file
            raise RuntimeError(f"snapshot {tmp} still has a WAL after DETACH; not publishing it")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)  # the atomic step
        _fsync_dir(target.parent)
    except BaseException:
        if attached:
            try:
                con.execute(f"DETACH {SNAPSHOT_ALIAS}")
            except duckdb.Error:
                pass
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    return PublishResult(
        path=target, tables=tables, views=views, bytes=target.stat().st_size, seconds=time.perf_counter() - started
    )


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def reading_path(db: str | Path | None = None) -> tuple[Path, bool]:
    """The file a reader should open, and whether it is the published snapshot.

    ``db`` given -> that file. Otherwise the serving snapshot when one is published, else the
    warehouse itself (``False``: readers then fail while a run holds the write lock).
    """
    if db is not None:
        return Path(db), False
    cfg = settings()
    if cfg.serving_path.exists():
        return cfg.serving_path, True
    return cfg.db, False
