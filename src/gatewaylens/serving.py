"""The serving snapshot: a small read-only DuckDB file that readers open while runs write.

DuckDB allows one writer process *or* many read-only readers of a file, never both. So the
pipeline is the only process that writes the warehouse, and the last step of every run publishes
the serving file (``GATEWAYLENS_SERVING``, default ``data/gatewaylens.serving.duckdb``) that the
dashboard, ``gatewaylens sql`` and analysts open read-only.

What it holds, and why a nightly publish costs O(day), not O(history):

* the **marts** (small: aggregates), the catalog tables (``model_catalog``, ``provider_catalog``), and in ``duckdb`` storage mode
  ``quarantine`` and ``ingested_files`` (one row per rejected line / per file), as tables;
* the raw tables **``requests``** and **``provider_attempts``** as *views* over day-partitioned
  Parquet: a local lake itself in ``lake`` storage mode (views over the lake's globs: a reader sees
  each partition file old or new, as it is at query time); a lake on object storage (``s3://``
  ... through fsspec) is mirrored instead (below), because readers cannot reach it: the
  dashboard's and ``gatewaylens sql``'s DuckDB has no fsspec filesystem registered, console
  workers run with external access off, and DuckDB's httpfs cannot be relied on; in ``duckdb`` storage mode a mirror
  beside the serving file (``<serving stem>.raw/requests/day=YYYY-MM-DD/v<publish>.parquet``)
  into which each publish exports only the days that changed, as new versioned files — the
  snapshot's views list their files by name, so a reader of the old snapshot keeps reading the
  old files (the previous version of each day is kept for it; older ones are removed);
* the analyst views (``v_requests``, ``v_adoption_monthly``, ...).

Lake on object storage: each publish lists the lake's raw files (``requests``,
``provider_attempts``, ``quarantine``, ``ingested_files``; metadata only) and copies, byte for byte
(``fs.get``), the files that are new or changed since the previous publish (by size and the
store's ETag / modification time) into the same mirror, as ``<table>/day=D/<file stem>.<publish>.parquet``.
The snapshot records the lake file -> local copy list (table ``_gl_raw_files``) and its views
list the local copies by name, so, as in duckdb mode, a reader sees the old snapshot or the new
one; the copies of the previous snapshot are kept for its readers, older ones removed. Cost per
publish: one listing of the lake plus the bytes of the changed partitions (O(day)); the mirror
needs local disk for the raw tables' history (their compressed Parquet size).

A publish for a run's days (:func:`publish_snapshot` with ``days=(start, end)``):

1. exports the changed days of ``requests`` / ``provider_attempts`` to the mirror (duckdb mode;
   the run's days plus any day with rows ingested since the last publish) — each partition file
   written under a temporary name and renamed (:class:`gatewaylens.lake.Lake`);
2. copies the previous serving file (marts only: megabytes) to a temporary file beside it,
   replaces the marts' rows of the run's days (DELETE + INSERT), rewrites the small tables;
3. checkpoints it (no ``.wal`` left), ``fsync``s it and ``os.replace``s it onto the serving path.

Step 3 is one rename on the same file system: a reader that opens the path gets the old file or
the new one, never a half-written one; a reader that has the old file open keeps its marts.
In duckdb storage mode a reader therefore sees the old snapshot or the new one, raw tables
included; in lake mode the raw views read the lake's partition files as they are at query time,
each replaced atomically, so a reader sees a day's old or new rows, never half of them. ``days=None`` (or no
previous snapshot, or a change of storage mode or mart columns) publishes everything — the
first publish after an upgrade costs O(history) once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from gatewaylens import marts
from gatewaylens.config import settings
from gatewaylens.lake import Lake, day_of, days_only, refresh_view

SNAPSHOT_ALIAS = "gl_snapshot"  # fixed catalog alias of the temporary file while it is written
MARKER = "_gl_serving"  # key/value table: storage mode, raw root, layout version, published_at, lake (remote)
RAW_FILES = "_gl_raw_files"  # remote lake: lake file -> signature -> local copy (the mirror's manifest)
LAYOUT_VERSION = "2"
RAW_TABLES = ("requests", "provider_attempts")
SMALL_TABLES = ("quarantine", "ingested_files")  # copied whole in duckdb storage mode


@dataclass
class PublishResult:
    path: Path  # the published snapshot
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows written into the snapshot by this publish
    views: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    full: bool = False  # everything republished (first publish, days=None, layout change)
    raw_days: list[dt.date] = field(default_factory=list)  # raw partitions exported (duckdb mode) / copied (remote lake)
    raw_files_copied: int = 0  # remote lake: raw files copied into the mirror by this publish


def _quote_ident(name: str) -> str:
    """Quote an identifier that comes from DuckDB's own catalog or the registry (never user text)."""
    return '"' + name.replace('"', '""') + '"'


def raw_mirror_for(serving_path: Path) -> Path:
    """Where duckdb storage mode mirrors the raw tables as Parquet: beside the serving file."""
    return serving_path.with_name(f"{serving_path.stem}.raw")


def _read_small(path: Path, table: str, columns: str) -> list[tuple]:
    """Rows of a bookkeeping table of a serving file (none when the file or table is missing)."""
    if not path.exists():
        return []
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return []
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]:
            return []
        return con.execute(f"SELECT {columns} FROM {table}").fetchall()
    finally:
        con.close()


def _marker(path: Path) -> dict[str, str]:
    return dict(_read_small(path, MARKER, "key, value"))


def raw_root_of(path: str | Path) -> str | None:
    """The local folder the serving file at ``path`` serves its raw views from (None: not a serving
    file, or object storage). Opened read-only in its own instance."""
    root = _marker(Path(path)).get("raw")
    return root if root and "://" not in root else None


def _columns(con: duckdb.DuckDBPyConnection, table: str, database: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND database_name = ? "
        "AND schema_name = 'main' ORDER BY column_index", [table, database]).fetchall()]


def _relation_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {_quote_ident(name)}").fetchall()]


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    serving_path: str | Path | None = None,
    *,
    days: tuple[dt.date, dt.date] | None = None,
    lake: Lake | None = None,
) -> PublishResult:
    """Publish the serving file from ``con`` atomically; see the module docstring.

    ``con`` is the warehouse write connection (duckdb storage mode) or a lake connection
    (:func:`gatewaylens.lake.connect`; pass its ``lake``). ``days`` = the run's day range: only
    those days of the marts (and the changed days of the raw tables) are written; ``None`` =
    everything. Raises ``duckdb.Error`` if the copy fails; the previous snapshot is then left
    untouched and the temporary file is removed.
    """
    started = time.perf_counter()
    target = Path(serving_path or settings().serving_path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = "lake" if lake is not None else "duckdb"
    remote = lake if lake is not None and lake.fs is not None else None  # object storage: mirrored
    raw = Lake(raw_mirror_for(target)) if lake is None or remote else lake
    previous = _marker(target)
    full = (days is None or previous.get("storage") != mode or previous.get("raw") != raw.root
            or previous.get("layout") != LAYOUT_VERSION or previous.get("lake", "") != (remote.root if remote else ""))
    now = dt.datetime.now(dt.timezone.utc)
    result = PublishResult(path=target, full=full)
    marts.ensure_views(con)  # catalog, (empty) marts and analyst views exist even before any build
    copies: list[tuple[str, str, str, str]] = []
    kept = set()
    if mode == "duckdb":
        result.raw_days = _export_raw(con, raw, None if full else days, previous.get("published_at"))
    elif remote:
        before = {} if full else {r[1]: r for r in _read_small(target, RAW_FILES, "tbl, lake_path, signature, local_path")}
        kept = {r[3] for r in before.values()}
        copies = _mirror_remote(remote, raw, before, result)

    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    attached = False
    try:
        if not full:
            shutil.copyfile(target, tmp)  # marts only: small
        con.execute("ATTACH ? AS " + SNAPSHOT_ALIAS, [str(tmp)])
        attached = True
        _write_tables(con, result, days, full, lake)
        con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.{MARKER} (key VARCHAR, value VARCHAR)")
        con.execute(f"INSERT INTO {SNAPSHOT_ALIAS}.{MARKER} VALUES ('storage', ?), ('raw', ?), ('layout', ?), "
                    "('published_at', ?), ('lake', ?)",
                    [mode, raw.root, LAYOUT_VERSION, now.isoformat(), remote.root if remote else ""])
        if remote:
            con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.{RAW_FILES} "
                        "(tbl VARCHAR, lake_path VARCHAR, signature VARCHAR, local_path VARCHAR)")
            con.executemany(f"INSERT INTO {SNAPSHOT_ALIAS}.{RAW_FILES} VALUES (?, ?, ?, ?)", copies)
        con.execute(f"DETACH {SNAPSHOT_ALIAS}")
        attached = False
        _finish_views(tmp, raw, full, mode, copies if remote else None)
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():  # a WAL here would mean the copy is not all in the file
            raise RuntimeError(f"snapshot {tmp} still has a WAL after closing; not publishing it")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)  # the atomic step
        _fsync_dir(target.parent)
    except BaseException:
        for _, _, _, local in copies:  # copies this publish made that no snapshot lists
            if local not in kept:
                Path(local).unlink(missing_ok=True)
        if attached:
            try:
                con.execute(f"DETACH {SNAPSHOT_ALIAS}")
            except duckdb.Error:
                pass
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    if remote:  # the new snapshot's copies and the previous snapshot's (its readers) stay; older go
        _prune_mirror(raw, kept | {c[3] for c in copies})
    snap = duckdb.connect(str(target), read_only=True)
    try:
        result.views = [v for (v,) in snap.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name").fetchall()]
    finally:
        snap.close()
    result.bytes = target.stat().st_size
    result.seconds = time.perf_counter() - started
    return result


def _write_tables(con: duckdb.DuckDBPyConnection, result: PublishResult, days: tuple[dt.date, dt.date] | None,
                  full: bool, lake: Lake | None) -> None:
    """Marts (the run's days, or whole), the catalog tables and the small tables into the snapshot.
    ``lake``: ``con`` reads a lake (its marts' partitions of the run's days only)."""
    snap = SNAPSHOT_ALIAS
    for name in marts.CATALOG_TABLES:
        _copy_whole(con, result, name)
    for name in marts.MARTS:
        q = _quote_ident(name)
        if full or days is None:
            _copy_whole(con, result, name)
            continue
        start, end = marts.get(name).bound_days(*days)
        with days_only(con, lake, [name], start, end) if lake is not None else contextlib.nullcontext():
            same = _columns(con, name, snap) == _relation_columns(con, name)
            if same:
                con.execute(f"DELETE FROM {snap}.{q} WHERE day BETWEEN ? AND ?", [start, end])
                con.execute(f"INSERT INTO {snap}.{q} SELECT * FROM {q} WHERE day BETWEEN ? AND ?", [start, end])
        if not same:  # the mart's columns changed: all of it
            _copy_whole(con, result, name)
            continue
        result.tables[name] = con.execute(
            f"SELECT count(*) FROM {snap}.{q} WHERE day BETWEEN ? AND ?", [start, end]).fetchall()[0][0]
    if lake is None:
        for name in SMALL_TABLES:
            _copy_whole(con, result, name)


def _copy_whole(con: duckdb.DuckDBPyConnection, result: PublishResult, name: str) -> None:
    """Table ``name`` whole into the snapshot."""
    q = _quote_ident(name)
    con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.{q} AS SELECT * FROM {q}")
    result.tables[name] = con.execute(f"SELECT count(*) FROM {SNAPSHOT_ALIAS}.{q}").fetchall()[0][0]


def _finish_views(path: Path, raw: Lake, full: bool, mode: str, copies: list[tuple] | None = None) -> None:
    """In the snapshot file itself: base tables as views over the raw Parquet, analyst views.
    ``copies`` (remote lake): the mirror's (table, lake file, signature, local copy) rows."""
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        raw.register(con)
        if full:
            from gatewaylens.db import ensure_schema

            ensure_schema(con)  # empty base tables with the warehouse's columns (views replace them)
        if copies is not None:
            for table in RAW_TABLES + SMALL_TABLES:
                _pinned_view(con, table, sorted(c[3] for c in copies if c[0] == table))
        elif mode == "lake":
            for table in RAW_TABLES + SMALL_TABLES:
                refresh_view(con, raw, table)
        else:
            for table in RAW_TABLES:
                newest: dict[dt.date, str] = {}
                for f in raw.files(table):  # sorted: versions sort by time
                    newest[day_of(f)] = f
                _pinned_view(con, table, list(newest.values()))
        marts.ensure_views(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _export_raw(con: duckdb.DuckDBPyConnection, mirror: Lake, days: tuple[dt.date, dt.date] | None,
                since: str | None) -> list[dt.date]:
    """duckdb storage mode: write the raw tables' changed days to the Parquet mirror (one file per
    table and day, atomically). Changed = the run's days + days with rows ingested since the last
    publish; ``days=None`` = every day (a day no longer in requests gets an empty version)."""
    if days is None:  # every day in the warehouse, and days of the mirror no longer in it (written empty)
        wanted = [r[0] for r in con.execute("SELECT DISTINCT day FROM requests ORDER BY day").fetchall()]
        wanted += [day_of(f) for table in RAW_TABLES for f in mirror.files(table)]
    else:
        wanted = [days[0] + dt.timedelta(days=i) for i in range((days[1] - days[0]).days + 1)]
        if since:
            wanted += [r[0] for r in con.execute(
                "SELECT DISTINCT day FROM requests WHERE ingested_at > CAST(? AS TIMESTAMPTZ)", [since]).fetchall()]
    wanted = sorted(set(wanted))
    version = f"v{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    for table in RAW_TABLES:
        mirror.write_days(con, f"SELECT * FROM {table}", [], table, wanted, version)
        for day in wanted:  # keep this version and the previous one (readers of the previous snapshot list it)
            for stale in sorted(mirror.files_in(mirror.partition(table, day)))[:-2]:
                mirror.remove(stale)
    return wanted


def _mirror_remote(lake: Lake, mirror: Lake, before: dict[str, tuple], result: PublishResult) -> list[tuple]:
    """Copy the remote lake's raw files that are new or changed since the previous publish
    (``before``: lake file -> its manifest row) into the local mirror; returns the new manifest
    (table, lake file, signature, local copy) of every raw file of the lake."""
    version = f"v{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    rows, days = [], set()
    for table in RAW_TABLES + SMALL_TABLES:
        for url, size, stamp in lake.listing(table):
            sig = f"{size}:{stamp}"
            old = before.get(url)
            if old is not None and old[2] == sig and Path(old[3]).exists():
                rows.append((table, url, sig, old[3]))
                continue
            day = day_of(url)
            base = url.rsplit("/", 1)[-1].removesuffix(".parquet")
            local = f"{mirror.partition(table, day)}/{base}.{version}.parquet"
            Path(local).parent.mkdir(parents=True, exist_ok=True)
            part = f"{local}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                lake.fs.get(url, part)
                os.replace(part, local)
            finally:
                Path(part).unlink(missing_ok=True)
            result.raw_files_copied += 1
            if table in RAW_TABLES:
                days.add(day)
            rows.append((table, url, sig, local))
    result.raw_days = sorted(days)
    return rows


def _prune_mirror(mirror: Lake, keep: set[str]) -> None:
    """Remove the mirror's copies that neither the new snapshot nor the previous one lists."""
    for table in RAW_TABLES + SMALL_TABLES:
        for f in mirror.files(table):
            if f not in keep:
                mirror.remove(f)


def _pinned_view(con: duckdb.DuckDBPyConnection, table: str, files: list[str]) -> None:
    """View ``table`` over the given local Parquet files, listed by name: a reader of this snapshot
    keeps reading these files even after the next publish writes newer ones."""
    from gatewaylens.lake import _quote, view_over_files

    if not files:  # no file (any more): an empty table with the warehouse's columns
        if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [table]).fetchall()[0][0]:
            from gatewaylens.db import ensure_schema

            con.execute(f"DROP VIEW {_quote(table)}")
            ensure_schema(con)
        return
    kind = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
                       [table]).fetchall()[0][0]
    if kind:
        con.execute(f"DROP TABLE {_quote(table)}")
    con.execute(f"CREATE OR REPLACE VIEW {_quote(table)} AS {view_over_files(table, files)}")


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
