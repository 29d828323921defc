"""Ingest gateway log files into the warehouse, as a pipeline of named stages:

1. **read** (:mod:`.read`) — find the files; stream each one ONCE (plain or gzip) in bounded
   chunks of whole lines, hashing, counting and enforcing the per-file limits as it goes; lines
   that cannot reach DuckDB (empty, invalid UTF-8, overlong) are set aside with their reason. A
   file's hash is known once it is read: a copy of content ingested before is then dropped from
   its batch (skipped); a path ingested before is hashed first and skipped unstaged if unchanged.
2. **stage** (:mod:`.stage`) — detection and the format readers turn each chunk's lines into
   staged rows (``formats.STAGED_COLUMNS``); a large plain canonical file is read by DuckDB's
   parallel read_json instead (the fast path; a thread hashes it meanwhile), and only its odd
   lines are re-staged from the stream.
3. **check** (:mod:`.check`) — every rule evaluated once per staged row, into its ``reason``
   (as the rows are staged).
4. **dedupe** and 5. **load** (:mod:`.load`) — the first occurrence of each request_id not yet
   stored goes into requests and provider_attempts; rejected records into quarantine
   (:mod:`.quarantine`: redacted, capped per file); one row per file into ingested_files; one
   transaction per batch.

Records: a line usually holds one record (one request); an OTLP/JSON export line may batch the
spans of several requests, each a staged row of its own (``record_no`` 0, 1, ...). A quarantined
or merged line is always one record.

Contract (tested): for every file, ``records = rows_inserted + duplicates + quarantined + merged``
and ``records >= lines``; ``quarantined`` = the sum of the file's ``quarantine.records``. Small
files (by size on disk) are batched into one transaction; when a batch fails, each of its files is retried alone,
and a file that fails alone (or is unreadable, over a limit, not a regular file) is recorded as
one quarantined record: one file never takes another's rows down. A file whose content (sha256)
was already ingested is skipped. Memory: chunks are bounded, and DuckDB's ``memory_limit`` is
set to ``Settings.ingest_memory_limit`` for the run (it spills to disk beyond it).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from gatewaylens import formats
from gatewaylens.formats import canonical
from gatewaylens.ingest import load, stage
from gatewaylens.ingest.quarantine import FAILED, OVER_LIMIT, REFUSED, UNREADABLE, Collector, row_text
from gatewaylens.ingest.read import (
    CHUNK_BYTES,
    CHUNK_LINES,
    EMPTY_LINES,
    LOG_SUFFIXES,
    MAX_LINE_BYTES,
    Limits,
    MissingPathError,
    NotRegularFile,
    OverLimit,
    Probe,
    chunks,
    find_input_files,
    is_gzip,
    probe,
    regular_size,
)
from gatewaylens.redact import mask_text

__all__ = [
    "FileResult", "IngestSummary", "LOG_SUFFIXES", "MAX_LINE_BYTES", "Limits", "MissingPathError", "find_input_files",
    "ingest_file", "ingest_files", "ingest_paths",
]

FILE_SHIFT = load.FILE_SHIFT  # staged line_no = (file number in the batch << 32) | line number in the file
_MASK = (1 << FILE_SHIFT) - 1
BATCH_BYTES = 128 << 20  # small files are staged together up to this many bytes on disk (one transaction)
# The chunks of a batch's files are pooled into one staging pass until they hold this much: a pass
# of the staging SQL costs ~0.2-0.3 s whatever its size, and what waits in the pool while the next
# chunk is read (up to CHUNK_BYTES) stays small.
POOL_BYTES = 32 << 20
POOL_LINES = 1 << 19


class _Counts:
    """What a file or a whole ingest did with its lines, in words (shared by FileResult and
    IngestSummary, which both carry the count attributes)."""

    lines: int
    records: int
    rows_inserted: int
    duplicates: int
    quarantined: int
    merged: int

    def counts_text(self) -> str:
        """'lines N | rows ... | merged N' for people, with records when they differ from lines."""
        lines = f"lines {self.lines:,}"
        if self.records != self.lines:
            lines += f" ({self.records:,} records)"
        return (f"{lines} | rows {self.rows_inserted:,} | duplicates {self.duplicates:,} | "
                f"quarantined {self.quarantined:,} | merged {self.merged:,}")


class _Total:
    """An IngestSummary attribute: the sum of the same FileResult attribute over its files."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, summary: IngestSummary | None, owner: type | None = None):
        if summary is None:  # looked up on the class
            return self
        return sum(getattr(f, self.name) for f in summary.files)


@dataclass
class FileResult(_Counts):
    path: str
    content_sha256: str
    bytes: int
    lines: int = 0
    records: int = 0  # staged rows: lines, plus one per extra request of a line that holds several
    rows_inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    merged: int = 0
    skipped: bool = False  # identical content already ingested
    fast_path: bool = False  # parsed by read_json straight from the file (canonical; odd lines re-staged)
    failed: str | None = None  # the file as a whole was recorded as one quarantined record (its reason)
    seconds: float = 0.0


@dataclass
class IngestSummary(_Counts):
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    lines = _Total()
    records = _Total()
    rows_inserted = _Total()
    duplicates = _Total()
    quarantined = _Total()
    merged = _Total()

    @property
    def skipped(self) -> int:
        return sum(1 for f in self.files if f.skipped)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Item:
    path: Path
    probe: Probe | None  # known before staging (a path ingested before), else filled as it is read
    result: FileResult
    started: float
    size: int  # bytes on disk (batching)


@dataclass
class Options:
    """How a run ingests (from config.Settings, unless the caller says otherwise)."""

    salt: str
    fmt: str | None = None
    limits: Limits = field(default_factory=Limits)
    max_quarantine_rows: int = 1000
    batch_bytes: int = BATCH_BYTES
    memory_limit: str = "1GB"
    force: bool = False
    seen: set[str] = field(default_factory=set)  # content sha256 of the files committed in this run


def ingest_file(con: duckdb.DuckDBPyConnection, path: str | Path, *, salt: str, fmt: str | None = None,
                force: bool = False, **kw) -> FileResult:
    """Ingest one file in one transaction. ``fmt`` forces a format (default: detect per line)."""
    return ingest_files(con, [path], salt=salt, fmt=fmt, force=force, **kw)[0]


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    salt: str,
    fmt: str | None = None,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    batch_bytes: int = BATCH_BYTES,
    limits: Limits | None = None,
    max_quarantine_rows: int | None = None,
) -> list[FileResult]:
    """Ingest files in order. Small files are staged together in batches of up to ``batch_bytes``
    bytes on disk — one pass of the SQL and one transaction per batch — because per-statement
    overhead dominates files of a few thousand lines; if a batch fails, its files are retried one
    by one. A large file (half a batch or more) is staged alone and may take the read_json fast
    path. ``limits`` and ``max_quarantine_rows`` default to the settings."""
    from gatewaylens.config import settings

    cfg = settings()
    opts = Options(
        salt=salt, fmt=fmt, batch_bytes=batch_bytes, memory_limit=cfg.ingest_memory_limit, force=force,
        limits=limits or Limits(max_file_bytes=cfg.ingest_max_file_bytes, max_gzip_ratio=cfg.ingest_max_gzip_ratio),
        max_quarantine_rows=cfg.ingest_max_quarantine_rows_per_file if max_quarantine_rows is None else max_quarantine_rows,
    )
    results: list[FileResult] = []

    def emit(r: FileResult) -> None:
        results.append(r)
        if on_file is not None:
            on_file(r)

    # memory_limit: ingest memory does not follow the input (DuckDB spills its temp tables beyond
    # it). asof_loop_join_threshold: DuckDB runs an AS OF join as a nested loop when it estimates
    # few rows, and its estimates inside the OTel staging SQL are 1: quadratic in the spans of a
    # chunk (the OTLP staging took 1.4x as long at 20k lines, more on bigger chunks).
    run_settings = {"memory_limit": opts.memory_limit, "asof_loop_join_threshold": 0}
    previous = {k: con.execute("SELECT current_setting(?)", [k]).fetchall()[0][0] for k in run_settings}
    for k, v in run_settings.items():
        con.execute(f"SET {k} = ?", [v])  # names: the constants above
    try:
        _ingest_all(con, [Path(p) for p in paths], opts, emit)
    finally:
        for k, v in previous.items():
            con.execute(f"SET {k} = ?", [v])
    return results


def _ingest_all(con: duckdb.DuckDBPyConnection, paths: list[Path], opts: Options,
                emit: Callable[[FileResult], None]) -> None:
    """Group the files into batches and ingest each. A file is read once, as it is staged; only a
    path that was ingested before (a re-run over a landing folder: probably unchanged) is hashed
    first, so that an unchanged file is skipped without being staged."""
    pending: list[_Item] = []

    def flush() -> None:
        if pending:
            for r in _ingest_batch(con, list(pending), opts):
                emit(r)
            pending.clear()

    for path in paths:
        started = time.perf_counter()
        try:
            size = regular_size(path)
            known = probe(path, opts.limits) if not opts.force and _path_ingested(con, path) else None
        except (OverLimit, NotRegularFile, OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            flush()
            emit(_record_failed_file(con, path, exc, started))
            continue
        result = FileResult(path=str(path), content_sha256="", bytes=0)
        if known is not None:
            _identify(result, known)
            if _already(con, opts, known.sha256):
                result.skipped, result.lines, result.records = True, 0, 0
                result.seconds = time.perf_counter() - started
                flush()
                emit(result)
                continue
        item = _Item(path, known, result, started, size)
        if size >= opts.batch_bytes // 2:
            flush()
            pending.append(item)
            flush()
            continue
        if pending and sum(i.size for i in pending) + size > opts.batch_bytes:
            flush()
        pending.append(item)
    flush()


def _identify(result: FileResult, p: Probe) -> None:
    result.content_sha256, result.bytes, result.lines, result.records = p.sha256, p.bytes, p.lines, p.lines


def _already(con: duckdb.DuckDBPyConnection, opts: Options, sha: str) -> bool:
    """True when content ``sha`` was ingested before (this run or an earlier one), unless forced."""
    return not opts.force and (sha in opts.seen or _file_already_ingested(con, sha))


def _path_ingested(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    return bool(con.execute("SELECT count(*) FROM ingested_files WHERE path = ?", [str(path)]).fetchall()[0][0])


def _ingest_batch(con: duckdb.DuckDBPyConnection, items: list[_Item], opts: Options) -> list[FileResult]:
    """One transaction for the batch; if it fails, each file alone; a file failing alone is
    recorded as a failed file (one quarantined record)."""
    try:
        return _ingest_group(con, items, opts)
    except Exception as exc:  # noqa: BLE001 - a failing file must not take the others down
        if len(items) > 1:
            return [r for item in items for r in _ingest_batch(con, [item], opts)]
        known = items[0].probe if items[0].probe is not None and items[0].probe.sha256 else None
        return [_record_failed_file(con, items[0].path, exc, items[0].started, probed=known)]


def _ingest_group(con: duckdb.DuckDBPyConnection, items: list[_Item], opts: Options) -> list[FileResult]:
    """read -> stage -> check (as rows are staged) -> dedupe -> load, for a group of files."""
    now = dt.datetime.now(dt.timezone.utc)
    con.execute("SET VARIABLE gatewaylens_salt = ?", [opts.salt])
    con.execute("SET VARIABLE gatewaylens_ts_max = CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY", [now])
    paths = [str(i.path) for i in items]
    quarantine = Collector(paths, opts.max_quarantine_rows, now)
    per_file = [[0, 0, 0] for _ in items]  # good, merged, extra records
    multi = False
    only = items[0] if len(items) == 1 else None
    unfit = None
    if only and only.size > 0 and opts.fmt in (None, canonical.NAME) and not is_gzip(only.path):
        unfit = _stage_fast(con, only, opts)
    fast = unfit is not None
    if fast:
        # Rows staged by read_json: account for them; then one pass over the stream re-stages the
        # unfit lines and reads back the text of the rejected ones.
        texts = load.bad_rows(con, "_gl_staged", quarantine.wants(0), where="NOT _unfit")
        con.execute("DELETE FROM _gl_staged WHERE _unfit")
        con.execute("ALTER TABLE _gl_staged DROP COLUMN _unfit")
        rejected = sum(load.count_rows(con, "_gl_staged", per_file).values())
        stored = sum(len(r) for r in texts.values())
        if rejected > stored:  # past the cap: counted in the flood row
            quarantine.count_only(0, rejected - stored, max(texts, default=0) + 1)
        if unfit or texts:
            multi |= _stream_group(con, items, opts, quarantine, per_file, restage=set(unfit), texts=texts)
    else:
        stage.create(con, "_gl_staged")
        multi |= _stream_group(con, items, opts, quarantine, per_file, restage=None, texts={})
    # Each file's identity is known now that it was read: a content ingested before (this run or
    # an earlier one) is dropped from the batch and reported as skipped.
    shas: set[str] = set()
    for k, item in enumerate(items):
        _identify(item.result, item.probe)
        if _already(con, opts, item.probe.sha256) or item.probe.sha256 in shas:
            con.execute(f"DELETE FROM _gl_staged WHERE line_no >> {FILE_SHIFT} = ?", [k])
            quarantine.drop(k)
            per_file[k] = [0, 0, 0]
            item.result.skipped, item.result.lines, item.result.records = True, 0, 0
        shas.add(item.probe.sha256)
    kept = [str(i.path) for i in items if not i.result.skipped]
    load.register_identity(con)
    con.execute("BEGIN TRANSACTION")
    try:
        new_per_file = load.load(con, paths, now, multi=multi)
        load.insert_quarantine(con, kept, quarantine.rows())
        for k, item in enumerate(items):
            good, merged, extra = per_file[k]
            r = item.result
            if r.skipped:
                continue
            r.records = r.lines + extra  # a line holding k requests is k records
            r.rows_inserted = int(new_per_file.get(k, 0))
            r.duplicates = good - r.rows_inserted
            r.quarantined = quarantine.quarantined(k)
            r.merged = merged
            r.fast_path = fast
            load.record_file(con, r, now)
        con.execute("COMMIT")
    except BaseException:
        load.rollback(con)
        raise
    opts.seen |= shas
    finished = time.perf_counter()
    for item in items:
        item.result.seconds = finished - item.started
    return [item.result for item in items]


def _stage_fast(con: duckdb.DuckDBPyConnection, item: _Item, opts: Options) -> list[int] | None:
    """The read_json fast path for one plain file (stage.stage_fast). DuckDB reads the file
    itself, so the file's identity comes from a probe run by a thread while DuckDB parses it (a
    second reader of the same bytes, served by the page cache; hashlib and numpy release the
    GIL), unless it was probed before staging."""
    if item.probe is not None and item.probe.sha256:
        return stage.stage_fast(con, item.path, lambda: item.probe.lines)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(probe, item.path, opts.limits)
        try:
            return stage.stage_fast(con, item.path, lambda: pending.result().lines)
        finally:
            item.probe = pending.result()


def _plain(line_no: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow.compute as pc  # (only when lines are re-staged: ~0.1 s of every CLI run otherwise)

    return pc.bit_wise_and(line_no, _MASK)


def _only(table: pa.Table, plain_line_nos: set[int]) -> pa.Table:
    """The rows of ``table`` whose line number (without the file shift) is in the set."""
    values = np.asarray(sorted(plain_line_nos), dtype=np.int64)
    value_set = pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])  # pa.array imports pandas
    import pyarrow.compute as pc

    return table.filter(pc.is_in(_plain(table["line_no"]), value_set=value_set))


def _stream_group(con: duckdb.DuckDBPyConnection, items: list[_Item], opts: Options, quarantine: Collector,
                  per_file: list[list[int]], restage: set[int] | None, texts: dict[int, list[tuple]]) -> bool:
    """Stream the group's files chunk by chunk (read), stage and check their lines into
    _gl_staged (the load stage takes only its good rows: load.GOOD) and keep the rejected ones'
    quarantine rows. Chunks are staged together, across the files of the group, until they hold
    POOL_BYTES / POOL_LINES (never more than CHUNK_BYTES / CHUNK_LINES per staging pass): a landing
    folder of many small files costs a few passes of the staging SQL, not one per file. With
    ``restage`` (the fast path's unfit lines of a single file) only those lines are staged (through
    _gl_chunk: _gl_staged already holds rows of the same line numbers), and ``texts`` names rows
    staged earlier whose line text quarantine still needs. Returns whether a multi-record format
    was staged."""
    into = "_gl_staged" if restage is None else "_gl_chunk"
    pending: list[tuple[int, pa.Table, list, np.ndarray]] = []  # (file, lines, set aside, empty lines)
    size = [0, 0]  # bytes and lines pending
    multi = False

    def flush() -> None:
        nonlocal multi
        tables = [t for _, t, _, _ in pending if t.num_rows]
        rejected: dict[int, int] = {}
        if tables:
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
            if into == "_gl_chunk":
                stage.create(con, "_gl_chunk")
            # the rows of this pass: ascending line numbers (file << 32 | line), after every earlier pass's
            span = (tables[0]["line_no"][0].as_py(), tables[-1]["line_no"][-1].as_py())
            con.register("_gl_lines", table)
            try:
                multi |= stage.stage_lines(con, opts.fmt, into)
            finally:
                con.unregister("_gl_lines")
            rejected = load.count_rows(con, into, per_file, span)
            if into == "_gl_chunk":
                con.execute(f"INSERT INTO _gl_staged SELECT * FROM _gl_chunk WHERE {load.GOOD}")
        for k in dict.fromkeys(k for k, _, _, _ in pending):  # each file of the pass, in order
            mine = [p for p in pending if p[0] == k]
            lines = [t for _, t, _, _ in mine if t.num_rows]
            table = lines[0] if len(lines) == 1 else pa.concat_tables(lines) if lines else EMPTY_LINES
            bad = {}
            if rejected.get(k):
                span = (table["line_no"][0].as_py(), table["line_no"][-1].as_py())
                bad = load.bad_rows(con, into, quarantine.wants(k) + 1, span=span)  # +1: where the rest starts
            asides = [a for _, _, got, _ in mine for a in got]
            empty = np.concatenate([e for _, _, _, e in mine])
            _quarantine_chunk(quarantine, k, table, asides, empty, bad, rejected.get(k, 0))
        pending.clear()
        size[0] = size[1] = 0

    for k, item in enumerate(items):
        filling = None
        if item.probe is None or not item.probe.sha256:  # (not identified yet: hashed as it is read)
            item.probe = filling = Probe()
        for chunk in chunks(item.path, k << FILE_SHIFT, opts.limits, seen=filling):
            table = chunk.table
            if restage is not None:
                table = _only(table, restage | set(texts))
                if texts and table.num_rows:
                    lines_text = dict(zip(_plain(table["line_no"]).to_pylist(), table["line"].to_pylist()))
                    for ln in [ln for ln in lines_text if ln in texts]:
                        load.add_text(quarantine, k, ln, lines_text[ln], texts.pop(ln))
                table = _only(table, restage)
            asides = [a for a in chunk.set_aside if restage is None or a.line_no in restage]
            empty = chunk.empty if restage is None else chunk.empty[:0]
            # what the piece holds: its lines, and the lines set aside or empty (a file of blank or
            # undecodable lines stages nothing but must not pile up either)
            held = (table.nbytes + empty.nbytes + sum(len(a.prefix) for a in asides),
                    table.num_rows + len(empty) + len(asides))
            if pending and (size[0] + held[0] > CHUNK_BYTES or size[1] + held[1] > CHUNK_LINES):
                flush()  # (at most one chunk's worth of lines is registered with DuckDB at a time)
            pending.append((k, table, asides, empty))
            size[0] += held[0]
            size[1] += held[1]
            if size[0] >= POOL_BYTES or size[1] >= POOL_LINES:
                flush()  # (and at most POOL_BYTES wait while the next chunk is read)
    flush()
    for ln, records in texts.items():  # rejected rows whose line was not found again
        load.add_text(quarantine, 0, ln, "", records)
    return multi


def _quarantine_chunk(quarantine: Collector, k: int, table: pa.Table, asides: list, empty: np.ndarray,
                      bad: dict[int, list[tuple]], rejected: int) -> None:
    """Quarantine rows of a chunk's rejected lines, in line order, as many as file ``k`` has room
    for; the others are counted in its flood row."""
    room = quarantine.wants(k)
    total = len(asides) + len(empty) + rejected
    if total == 0:
        return
    candidates = sorted([(a.line_no, 0, a) for a in asides] + [(int(n), 1, None) for n in empty[: room + 1].tolist()]
                        + [(ln & _MASK, 2, ln) for ln in bad], key=lambda c: (c[0], c[1]))
    stored = 0
    text_of: dict[int, str] = {}
    if bad:
        picked = _only(table, {ln & _MASK for ln in bad}) if len(bad) < table.num_rows else table
        text_of = dict(zip(picked["line_no"].to_pylist(), picked["line"].to_pylist()))
    first_rest = None
    for line_no, kind, payload in candidates:
        if stored >= room:
            first_rest = line_no
            break
        if kind == 0:
            raw, reason, detail = row_text(payload.prefix.decode("utf-8", errors="replace"), payload.reason, None,
                                           explained=False)
            quarantine.add(k, line_no, raw, reason, payload.detail if reason == payload.reason else detail, None)
            stored += 1
        elif kind == 1:
            quarantine.add(k, line_no, "", "empty line", None, None)
            stored += 1
        else:
            records = bad[payload]
            load.add_text(quarantine, k, line_no, text_of.get(payload, ""), records)
            stored += len(records)
    rest = total - stored
    if rest > 0:
        quarantine.count_only(k, rest, first_rest if first_rest is not None else candidates[-1][0] + 1)


def _file_already_ingested(con: duckdb.DuckDBPyConnection, sha: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM ingested_files WHERE content_sha256 = ?", [sha]).fetchall()[0][0])


def _record_failed_file(con: duckdb.DuckDBPyConnection, path: Path, exc: BaseException, started: float,
                        probed: Probe | None = None) -> FileResult:
    """A file that cannot be ingested as a whole (unreadable, over a limit, not a regular file,
    or failing alone) is one quarantined record (line_no 0) and one ingested_files row."""
    now = dt.datetime.now(dt.timezone.utc)
    if isinstance(exc, OverLimit):
        reason = OVER_LIMIT
    elif isinstance(exc, NotRegularFile):
        reason = REFUSED
    elif isinstance(exc, (OSError, EOFError, zlib.error, gzip.BadGzipFile)):
        reason = UNREADABLE
    else:
        reason = FAILED
    head = b""
    if probed is not None:
        sha, size = probed.sha256, probed.bytes
    else:
        digest, size = hashlib.sha256(), 0
        if reason in (UNREADABLE, OVER_LIMIT):
            try:  # identity of the bytes on disk (a bomb is not decompressed again)
                with path.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        if not head:
                            head = block[:256]
                        digest.update(block)
                        size += len(block)
            except OSError:
                pass
        else:
            digest.update(f"{reason}:{path}".encode())
        sha = digest.hexdigest()
    if reason in (UNREADABLE, OVER_LIMIT) and _file_already_ingested(con, sha):
        return FileResult(path=str(path), content_sha256=sha, bytes=size, skipped=True)
    result = FileResult(path=str(path), content_sha256=sha, bytes=size, lines=1, records=1, quarantined=1, failed=reason)
    detail = {
        OVER_LIMIT: str(exc),
        REFUSED: str(exc),
        UNREADABLE: f"{type(exc).__name__}; check the file is complete (a truncated .gz cannot be read)",
        FAILED: f"{type(exc).__name__} while ingesting this file alone: none of its lines was loaded; "
                "fix the cause and re-run (re-runs are idempotent)",
    }[reason]
    con.execute("BEGIN TRANSACTION")
    try:
        load.insert_quarantine(con, [str(path)], [(str(path), 0, mask_text(head.decode("utf-8", errors="replace")),
                                                   reason, detail, None, now, 1)])
        load.record_file(con, result, now)
        con.execute("COMMIT")
    except BaseException:
        load.rollback(con)
        raise
    result.seconds = time.perf_counter() - started
    return result


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    salt: str,
    fmt: str | None = None,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    **kw,
) -> IngestSummary:
    """Ingest files and folders (recursive). Raises MissingPathError before writing anything if a
    path does not exist."""
    files = find_input_files(paths)
    if fmt is not None:
        formats.get(fmt)  # fail fast on an unknown format name
    started = time.perf_counter()
    summary = IngestSummary(files=ingest_files(con, files, salt=salt, fmt=fmt, force=force, on_file=on_file, **kw))
    summary.seconds = time.perf_counter() - started
    return summary
