"""The Parquet lake (``GATEWAYLENS_STORAGE=lake``): day-partitioned tables, one writer per file.

Layout under ``GATEWAYLENS_LAKE`` (a local folder, or an fsspec URL such as ``s3://bucket/gl``)::

    requests/day=YYYY-MM-DD/from-<source>.parquet           rows whose UTC day (of ts) is day
    provider_attempts/day=YYYY-MM-DD/from-<source>.parquet  the attempts of those requests
    quarantine/day=YYYY-MM-DD/from-<source>.parquet         rejected lines of the source's files
    ingested_files/day=YYYY-MM-DD/from-<source>.parquet     one row per file the source read
    marts/<name>/day=YYYY-MM-DD/data.parquet                the mart's rows of that day

Hive-style: the ``day`` column lives in the folder name, not in the files (DuckDB, Spark and
pyarrow read it back as a DATE). A *source* is the unit of ingest: one landing day
(``<source>`` = the landing folder's day, ``YYYY-MM-DD``); ``quarantine`` and
``ingested_files`` are partitioned by that landing day, ``requests`` / ``provider_attempts`` by
the request's own UTC day, as in the DuckDB file (a file landing on day D may hold a request
of 23:59 on D-1: it goes to ``day=D-1/from-D.parquet``).

Writers and atomicity. Every file has exactly one writer: the ingest of its source, or the build
of its mart and day. A file is written under a temporary name in the same folder and renamed
onto its final name (``os.replace``; on object storage a single PUT, which is atomic per
object): a reader sees the old file or the new one, never half of one. Re-running a source
replaces its files (and removes those it no longer produces); re-building a mart's day replaces
that day's file. Different sources and different days can be written by parallel processes.

Dedupe. Within a source, the ingest stages dedupe by ``request_id`` exactly as in the DuckDB
file (first occurrence wins). Across sources, a request is a duplicate when its ``request_id``
is already in another source's file *of the same day partition* — only that partition's
``request_id`` column is read (O(day), not O(history)). The rule relies on a request's day
being determined by its timestamp: the same request logged twice carries the same ts, so both
copies fall in the same partition. A ``request_id`` reused with a timestamp on another day is
not caught at ingest (the ``request_id_unique`` check over the run's days reports it). Two
sources holding the same request and ingested at the same moment may both keep it (the check
reports it too); run them one after the other, or re-run the later one.

Reading. :func:`connect` opens an in-memory DuckDB with one view per table over the lake
(``read_parquet`` with hive partitioning: a filter on ``day`` reads only those folders), so the
mart SQL, the checks and ad-hoc SQL run unchanged. Binding such a view costs a little per day
folder of the whole history, so a mart build and the serving publish read through
:func:`days_only`: views over just the partitions their days and window need (O(day)). Object
storage goes through an fsspec filesystem registered with DuckDB (``duckdb.register_filesystem``);
writes go through the same filesystem (``put`` of a locally written file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from gatewaylens import marts
from gatewaylens.config import MartSettings, settings
from gatewaylens.db import ensure_schema

BASE_TABLES: tuple[str, ...] = ("requests", "provider_attempts", "quarantine", "ingested_files")
# Base tables partitioned by the request's own day (the others by the source's landing day).
BY_REQUEST_DAY: tuple[str, ...] = ("requests", "provider_attempts")
MART_FILE = "data"


def _is_url(root: str) -> bool:
    return "://" in root


@dataclass
class Lake:
    """A lake root: a local folder, or a URL an fsspec filesystem understands."""

    root: str
    fs: object | None = field(default=None, repr=False)  # fsspec filesystem for URLs

    def __post_init__(self) -> None:
        self.root = str(self.root).rstrip("/")
        if _is_url(self.root) and self.fs is None:
            import fsspec

            self.fs, _ = fsspec.core.url_to_fs(self.root)
        if not _is_url(self.root):
            self.root = str(Path(self.root).resolve())

    @classmethod
    def from_settings(cls) -> "Lake":
        return cls(settings().lake)

    # ---------------------------------------------------------------- paths
    def folder(self, table: str) -> str:
        """``requests`` -> <root>/requests; ``marts/<name>`` for a mart."""
        return f"{self.root}/{table}"

    def partition(self, table: str, day: dt.date) -> str:
        return f"{self.folder(table)}/day={day.isoformat()}"

    def glob(self, table: str) -> str:
        return f"{self.folder(table)}/day=*/*.parquet"

    def files(self, table: str) -> list[str]:
        """Published files of a table (never temporary ones)."""
        return self._glob(self.glob(table))

    def files_in(self, partition: str) -> list[str]:
        """Published files of one partition folder."""
        return self._glob(f"{partition}/*.parquet")

    def files_between(self, table: str, start: dt.date, end: dt.date) -> list[str]:
        """Published files of the partitions ``start``..``end``: one listing per day of a local lake
        (O(days read), not O(history)); one listing of the table on object storage."""
        if self.fs is not None:
            return [f for f in self.files(table) if start <= (day_of(f) or start) <= end]
        out: list[str] = []
        for day in days_between(start, end):
            try:
                with os.scandir(self.partition(table, day)) as entries:
                    out.extend(sorted(e.path for e in entries
                                      if e.name.endswith(".parquet") and not e.name.startswith(".")))
            except FileNotFoundError:  # no partition that day
                continue
        return out

    def has_files(self, table: str) -> bool:
        """Whether the table has any published file (stops at the first one found)."""
        if self.fs is not None:
            return bool(self.files(table))
        return next(Path("/").glob(self.glob(table).lstrip("/")), None) is not None

    def listing(self, table: str) -> list[tuple[str, int, str]]:
        """(file, size, stamp) of a table's published files; the stamp (mtime, or the store's ETag /
        modification time) changes when a file is replaced. Metadata only: no file is opened."""
        if self.fs is None:
            out = []
            for f in self.files(table):
                try:
                    st = os.stat(f)
                except FileNotFoundError:  # replaced or removed since the glob
                    continue
                out.append((f, st.st_size, f"{st.st_mtime_ns}.{st.st_ino}"))  # a replaced file is a new inode
            return out
        folder = self.folder(table)
        found = self.fs.find(folder, detail=True) if self.fs.exists(folder) else {}
        protocol = self.root.split("://", 1)[0]
        out = []
        for name, info in sorted(found.items()):
            base = name.rsplit("/", 1)[-1]
            if "/day=" not in name or not base.endswith(".parquet") or base.startswith("."):
                continue  # not a published partition file
            stamp = next((info[k] for k in ("ETag", "etag", "md5Hash", "LastModified", "last_modified", "mtime", "created")
                          if info.get(k) is not None), "")
            out.append((name if "://" in name else f"{protocol}://{name.lstrip('/')}", int(info.get("size") or 0), str(stamp)))
        return out

    def _glob(self, pattern: str) -> list[str]:
        if self.fs is None:
            return sorted(str(p) for p in Path("/").glob(pattern.lstrip("/")))
        protocol = self.root.split("://", 1)[0]
        return sorted(p if "://" in p else f"{protocol}://{p.lstrip('/')}" for p in self.fs.glob(pattern))

    # ---------------------------------------------------------------- atomic writes
    def write(self, con: duckdb.DuckDBPyConnection, query: str, params: list, table: str, day: dt.date, name: str) -> str:
        """Write the rows of ``query`` as ``<table>/day=<day>/<name>.parquet``, atomically."""
        final = f"{self.partition(table, day)}/{name}.parquet"
        if self.fs is None:
            folder = Path(self.partition(table, day))
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                con.execute(f"COPY ({query}) TO '{_sql_str(str(tmp))}' (FORMAT parquet)", params)
                os.replace(tmp, final)  # the atomic step
            finally:
                tmp.unlink(missing_ok=True)
            return final
        with tempfile.TemporaryDirectory(prefix="gl-lake-") as scratch:
            tmp = Path(scratch) / f"{name}.parquet"
            con.execute(f"COPY ({query}) TO '{_sql_str(str(tmp))}' (FORMAT parquet)", params)
            self.fs.put(str(tmp), final)  # one PUT: the object appears whole or not at all
        return final

    def write_days(self, con: duckdb.DuckDBPyConnection, query: str, params: list, table: str,
                   days: list[dt.date], name: str) -> list[str]:
        """Write the rows of ``query`` (it has a ``day`` column) as ``<table>/day=<day>/<name>.parquet``
        for each of ``days`` (rows of other days are left out; a day without rows gets an empty
        file), each file published atomically as :meth:`write` does. One pass over the query —
        DuckDB's partitioned COPY into a scratch folder — then one rename (or PUT) per file, instead
        of one COPY per day (~20 ms each: most of a year's publish)."""
        if not days:
            return []
        wanted = "SELECT * FROM ({q}) WHERE day IN (SELECT unnest(CAST(? AS DATE[])))"
        scratch_parent = Path(self.folder(table)) if self.fs is None else Path(tempfile.mkdtemp(prefix="gl-lake-"))
        scratch = scratch_parent / f".write-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # not matched by day=*/ globs
        scratch_parent.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        try:
            con.execute(
                f"COPY ({wanted.format(q=query)}) TO '{_sql_str(str(scratch))}' "
                "(FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part_{i}')", [*params, list(days)])
            for day in days:
                parts = sorted((scratch / f"day={day.isoformat()}").glob("*.parquet"))
                if not parts:  # no rows that day: an empty file replaces what was there
                    written.append(self.write(con, f"SELECT * EXCLUDE (day) FROM ({query}) WHERE false", params,
                                              table, day, name))
                    continue
                if len(parts) > 1:  # DuckDB split the day: one file again
                    merged = scratch / f"day={day.isoformat()}" / "merged.parquet.tmp"
                    con.execute(f"COPY (SELECT * FROM read_parquet(?)) TO '{_sql_str(str(merged))}' (FORMAT parquet)",
                                [[str(p) for p in parts]])
                    parts = [merged]
                final = f"{self.partition(table, day)}/{name}.parquet"
                if self.fs is None:
                    Path(final).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(parts[0], final)  # the atomic step
                else:
                    self.fs.put(str(parts[0]), final)  # one PUT: the object appears whole or not at all
                written.append(final)
        finally:
            shutil.rmtree(scratch if self.fs is None else scratch_parent, ignore_errors=True)
        return written

    def remove(self, path: str) -> None:
        if self.fs is None:
            Path(path).unlink(missing_ok=True)
        elif self.fs.exists(path):
            self.fs.rm(path)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read the lake's URLs through its fsspec filesystem (no-op for a folder)."""
        if self.fs is not None:
            con.register_filesystem(self.fs)


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


@functools.cache
def base_columns(table: str) -> tuple[str, ...]:
    """Columns of a base table in the warehouse's order (from sql/ddl.sql)."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        return tuple(r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]).fetchall())
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read(source: str) -> str:
    """``read_parquet`` of a glob or a list of files (SQL text: a quoted literal or a list of them)."""
    return f"read_parquet({source}, hive_partitioning = true, hive_types = {{'day': DATE}})"


def _view_select(name: str, source: str) -> str:
    """The SELECT of the view of base table or mart ``name`` over ``source`` (see :func:`_read`)."""
    columns = base_columns(name) if name in BASE_TABLES else ()
    # Marts: day is their first column. quarantine, ingested_files (partitioned by landing day) have no day.
    listed = ", ".join(_quote(c) for c in columns) if columns else "day, * EXCLUDE (day)"
    return f"SELECT {listed} FROM {_read(source)}"


def _folder_of(name: str) -> str:
    return f"marts/{name}" if name in marts.MARTS else name


def day_of(path: str) -> dt.date | None:
    """The day of a partition file's path (its ``day=YYYY-MM-DD`` folder), None outside one."""
    part = next((p for p in path.split("/") if p.startswith("day=")), None)
    return dt.date.fromisoformat(part[4:]) if part else None


# ------------------------------------------------------------------------------------------
# reading: an in-memory DuckDB with views over the lake
# ------------------------------------------------------------------------------------------

def connect(lake: Lake | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose ``requests``, ``provider_attempts``, ``quarantine``,
    ``ingested_files`` and mart tables are views over the lake (empty tables where the lake has no
    file yet), with ``model_catalog``, the macros and the analyst views."""
    lake = lake or Lake.from_settings()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lake.register(con)
    ensure_schema(con)  # empty base tables: the column order of the DuckDB file
    for table in BASE_TABLES:
        refresh_view(con, lake, table)
    marts.refresh_catalog(con)
    for name in marts.MARTS:
        refresh_view(con, lake, name)
    marts.ensure_views(con)
    return con


def refresh_view(con: duckdb.DuckDBPyConnection, lake: Lake, name: str) -> None:
    """(Re)create the view of base table or mart ``name`` over its files; a table without files
    stays (or becomes) an empty table with the right columns."""
    is_mart = name in marts.MARTS
    folder = _folder_of(name)
    kind = con.execute(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM duckdb_views() WHERE view_name = $n AND NOT internal "
        "AND database_name = current_database()) THEN 'view' "
        "WHEN EXISTS (SELECT 1 FROM duckdb_tables() WHERE table_name = $n AND database_name = current_database()) "
        "THEN 'table' END", {"n": name}).fetchall()[0][0]
    if kind == "view":
        return  # a view re-reads the glob at every query
    if not lake.has_files(folder):
        if kind is None and is_mart:
            marts.ensure_tables(con)
        return
    if kind == "table":
        con.execute(f"DROP TABLE {_quote(name)}")
    con.execute(f"CREATE VIEW {_quote(name)} AS {_view_select(name, repr_sql(lake.glob(folder)))}")


def repr_sql(text: str) -> str:
    """A SQL string literal."""
    return "'" + _sql_str(text) + "'"


def view_over_files(name: str, files: list[str]) -> str:
    """The SELECT of base table or mart ``name``'s view over exactly ``files`` (listed by name)."""
    return _view_select(name, "[" + ", ".join(repr_sql(f) for f in files) + "]")


@contextlib.contextmanager
def days_only(con: duckdb.DuckDBPyConnection, lake: Lake, tables: Iterable[str],
              start: dt.date | None, end: dt.date) -> Iterator[None]:
    """Within the block, each of ``tables`` (base tables partitioned by day, marts) reads only its
    partitions ``start``..``end``: a TEMP view over those files (listed by name) shadows the view
    over the table's glob. ``start=None`` (the whole history) changes nothing.

    Why: DuckDB expands a view's ``day=*`` glob and prunes the days at every query that binds it,
    at a cost per file (~30 us, plus the listing) — with a year of history, ~15 ms per scan of
    every view, which made a nightly build's cost grow with history. Builds know which days they
    read (the registry's ``lookback``), so they read those partitions only. A table with no file
    in the range keeps its view."""
    made: list[str] = []
    try:
        if start is not None:
            for name in tables:
                monthly = name in marts.MARTS and marts.get(name).grain == "month"
                files = lake.files_between(_folder_of(name), start.replace(day=1) if monthly else start, end)
                if not files:
                    continue
                con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {view_over_files(name, files)}")
                made.append(name)
        yield
    finally:
        for name in made:
            con.execute(f"DROP VIEW IF EXISTS temp.{_quote(name)}")


# ------------------------------------------------------------------------------------------
# marts
# ------------------------------------------------------------------------------------------

def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def build_mart(
    con: duckdb.DuckDBPyConnection,
    name: str,
    start_day: dt.date,
    end_day: dt.date | None = None,
    settings_: MartSettings | None = None,
    lake: Lake | None = None,
) -> marts.MartResult:
    """(Re)build mart ``name`` for start_day..end_day in the lake: the same SELECT and
    post-processing as the DuckDB file (:func:`gatewaylens.marts.compute`), then one atomic
    partition file per day of the bound range (an empty file for a day without rows, so a
    re-run replaces what was there). ``con`` comes from :func:`connect` on the same lake."""
    lake = lake or Lake.from_settings()
    started = time.perf_counter()
    mart, start_day, end_day, cfg = marts.prepare(con, name, start_day, end_day, settings_)
    marts.refresh_catalog(con)
    with days_only(con, lake, (*BY_REQUEST_DAY, *mart.deps), *mart.reads_days(start_day, end_day, cfg)):
        marts.compute(con, name, cfg)
    days = days_between(start_day, end_day) if mart.grain == "day" else sorted(
        {d.replace(day=1) for d in days_between(start_day, end_day)})
    lake.write_days(con, f"SELECT * FROM {marts.ROWS_TABLE}", [], f"marts/{name}", days, MART_FILE)
    refresh_view(con, lake, name)
    rows = con.execute(f"SELECT count(*) FROM {marts.ROWS_TABLE}").fetchall()[0][0]
    con.execute(f"DROP TABLE IF EXISTS temp.{marts.ROWS_TABLE}")
    return marts.MartResult(name, start_day, end_day, int(rows), time.perf_counter() - started)


def drop_marts(lake: Lake) -> None:
    """Remove every mart's partition files (``gatewaylens build --rebuild``: after an upgrade changed
    a mart's columns, the old days' files no longer match the new ones); base tables are untouched."""
    folder = lake.folder("marts")
    if lake.fs is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    elif lake.fs.exists(folder):
        lake.fs.rm(folder, recursive=True)


def build_all(con: duckdb.DuckDBPyConnection, start_day: dt.date, end_day: dt.date | None = None,
              settings_: MartSettings | None = None, lake: Lake | None = None,
              on_mart: Callable[[marts.MartResult], None] | None = None) -> list[marts.MartResult]:
    """Every mart, in registry order, for start_day..end_day."""
    out = []
    for name in marts.MARTS:
        res = build_mart(con, name, start_day, end_day, settings_, lake)
        out.append(res)
        if on_mart is not None:
            on_mart(res)
    return out


# ------------------------------------------------------------------------------------------
# ingest: the existing stages into a scratch DuckDB, then a lake load
# ------------------------------------------------------------------------------------------

@dataclass
class LakeIngest:
    source: str
    files: list  # ingest.FileResult
    days: list[dt.date]  # request days written
    cross_source_duplicates: int
    seconds: float


def ingest_source(
    source: str,
    paths: Iterable[str | Path],
    *,
    salt: str,
    lake: Lake | None = None,
    on_file: Callable | None = None,
    fmt: str | None = None,
) -> LakeIngest:
    """Ingest the files of one source (a landing day, ``YYYY-MM-DD``) into the lake.

    1. read → stage → check → dedupe within the source: the existing ingest
       (:func:`gatewaylens.ingest.ingest_files`) into an empty in-memory DuckDB;
    2. dedupe across sources: rows whose request_id is in another source's file of the same day
       partition become duplicates (``ingested_files`` counts adjusted per file, so every file
       still adds up: records = rows_inserted + duplicates + quarantined + merged);
    3. load: one atomic file per table and day for this source; files this source wrote before
       and no longer produces are removed (a re-run replaces the source).
    """
    from gatewaylens.ingest import ingest_files

    lake = lake or Lake.from_settings()
    landing_day = dt.date.fromisoformat(source)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        lake.register(con)
        ensure_schema(con)
        results = ingest_files(con, list(paths), salt=salt, fmt=fmt, force=True)
        mine = f"from-{source}.parquet"
        days = [r[0] for r in con.execute("SELECT DISTINCT day FROM requests ORDER BY day").fetchall()]
        dupes = _drop_cross_source_duplicates(con, lake, days, mine)
        if dupes:
            by_file = dict(con.execute("SELECT path, n FROM _gl_cross_dupes").fetchall())
            con.execute(
                "UPDATE ingested_files SET rows_inserted = rows_inserted - d.n, duplicates = duplicates + d.n "
                "FROM _gl_cross_dupes d WHERE ingested_files.path = d.path")
            for r in results:
                n = by_file.get(str(r.path), 0)
                r.rows_inserted -= n
                r.duplicates += n
        name = f"from-{source}"
        for table in BY_REQUEST_DAY:
            previous = {f for f in lake.files(table) if f.endswith("/" + mine)}
            previous.difference_update(lake.write_days(con, f"SELECT * FROM {table}", [], table, days, name))
            for stale in previous:
                lake.remove(stale)
        for table in ("quarantine", "ingested_files"):
            lake.write(con, f"SELECT * FROM {table}", [], table, landing_day, name)
        if on_file is not None:
            for r in results:
                on_file(r)
        return LakeIngest(source, results, days, dupes, time.perf_counter() - started)
    finally:
        con.close()


def _drop_cross_source_duplicates(con: duckdb.DuckDBPyConnection, lake: Lake, days: list[dt.date], mine: str) -> int:
    """Delete staged rows whose request_id another source already holds in the same day partition."""
    others = [f for day in days for f in lake.files_in(lake.partition("requests", day))
              if not f.endswith("/" + mine)] if days else []
    con.execute("CREATE OR REPLACE TEMP TABLE _gl_cross_dupes (path VARCHAR, n BIGINT)")
    if not others:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE _gl_cross_ids AS SELECT DISTINCT request_id FROM read_parquet(?)", [others])
    con.execute(
        "INSERT INTO _gl_cross_dupes SELECT source_file, count(*) FROM requests "
        "WHERE request_id IN (SELECT request_id FROM _gl_cross_ids) GROUP BY source_file")
    n = con.execute("SELECT coalesce(sum(n), 0) FROM _gl_cross_dupes").fetchall()[0][0]
    if n:
        con.execute("DELETE FROM provider_attempts WHERE request_id IN (SELECT request_id FROM _gl_cross_ids)")
        con.execute("DELETE FROM requests WHERE request_id IN (SELECT request_id FROM _gl_cross_ids)")
    return int(n)
