"""Ingest gateway log files into the warehouse.

The hot path is vectorised: the file's bytes are split into lines with numpy, handed to DuckDB
as one Arrow string column, parsed and validated by SQL (``formats/``), deduplicated with a
join, and inserted with ``INSERT ... SELECT``. A canonical file is read by read_json straight
from disk instead, and only its odd lines go through the per-line path (``_stage_fast``). Python touches individual lines only to explain
rejected ones (pydantic) and to find invalid UTF-8 in the rare file that has it.

Records: a line usually holds one record (one request); an OTLP/JSON export line may batch the
spans of several requests, and each becomes a staged row of its own (``record_no`` 0, 1, ...). A
quarantined or merged line is always one record. ``records`` = staged rows of a file (= lines,
except lines holding several requests).

Contract (tested): for every file, ``records = rows_inserted + duplicates + quarantined + merged``
and ``records >= lines``. One transaction per file: a crash leaves a file wholly in or wholly
out. A file whose content (sha256) was already ingested is skipped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from gatewaylens import formats, identity, prices, schema
from gatewaylens.formats import canonical
from gatewaylens.redact import redact_line
from gatewaylens.schema import CanonicalLine

# Longest line read (64 MiB): an OTLP/JSON line from the collector's file exporter batches
# thousands of spans (several MiB); an envelope may carry a long request body. A longer "line" is
# usually a file that is not line-delimited at all, and is quarantined.
MAX_LINE_BYTES = 64 << 20
# read_json's buffers grow with its maximum_object_size, which costs the fast path its
# parallelism; a file with a longer line fails read_json and takes the per-line path.
FAST_PATH_MAX_LINE_BYTES = 1 << 20
RAW_LINE_KEEP = 8 << 10  # quarantine keeps the first 8 KiB of a line
# Files picked up when a folder is given (a file named explicitly is read whatever its name).
# Plain .json is left out on purpose: folders hold metadata such as the generator's truth.json.
LOG_SUFFIXES = (".jsonl", ".ndjson", ".log", ".jsonl.gz", ".ndjson.gz", ".log.gz")


class MissingPathError(FileNotFoundError):
    """An input path given to ingest does not exist."""


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


def find_input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files under ``paths`` (files or folders, recursive), sorted. Raises MissingPathError naming
    every path that does not exist, before anything is read."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise MissingPathError(
            "no such file or folder: " + ", ".join(missing) + " (check the path, or the GATEWAYLENS_LANDING setting)"
        )
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(f for f in sorted(p.rglob("*")) if f.is_file() and f.name.endswith(LOG_SUFFIXES))
        else:
            found.append(p)
    return sorted(dict.fromkeys(found))


@dataclass
class _Probe:
    """What one streaming pass over a file tells: identity and line count."""

    sha256: str
    bytes: int
    lines: int
    gzipped: bool


def probe_file(path: Path, chunk: int = 1 << 23) -> _Probe:
    """sha256 of the decompressed content, its size and its number of lines, in one streaming pass."""
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    digest = hashlib.sha256()
    size = newlines = 0
    last = b"\n"
    with opener(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            last = block[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    return _Probe(digest.hexdigest(), size, lines, gzipped)


def read_content(path: Path) -> bytes:
    """Decompressed bytes of a file (.gz by magic number, whatever its name)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    return raw


@dataclass
class _Lines:
    """A file split into lines: the ones DuckDB will parse, and the ones rejected on bytes."""

    count: int
    table: pa.Table  # line_no, line — lines that are valid UTF-8 and at most MAX_LINE_BYTES
    rejected: list[tuple[int, str, str, str]]  # (line_no, raw_line, reason, detail)


BATCH_ROWS = 16_384  # Arrow record batches DuckDB can scan in parallel (small enough to balance 2+ threads)


def _utf8_ok(arr: pa.LargeStringArray, content: bytes) -> bool:
    """Whether the whole buffer is valid UTF-8. The lines of ``arr`` cover every byte of
    ``content``, and Arrow's full validation checks each string's UTF-8 about 10x faster than
    ``bytes.decode`` (a sequence cut by a newline is invalid either way)."""
    try:
        arr.validate(full=True)
        return True
    except pa.ArrowInvalid:
        pass
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def split_lines(content: bytes, line_offset: int = 0) -> _Lines:
    """Split into lines (without their '\\n'); reject lines over MAX_LINE_BYTES or not valid UTF-8.
    The table's line_no column is the line number plus ``line_offset``; rejected lines carry
    the plain line number."""
    # Newline positions by one vectorised scan (bytes.split would copy every line into an object).
    newlines = np.flatnonzero(np.frombuffer(content, dtype=np.uint8) == 10)
    unterminated = bool(content) and content[-1:] != b"\n"
    count = len(newlines) + unterminated
    if count == 0:
        empty = pa.table({"line_no": pa.array([], pa.int64()), "line": pa.array([], pa.large_string())})
        return _Lines(0, empty, [])
    # One Arrow string column over the original buffer: line i spans offsets[i]..offsets[i+1],
    # which includes its '\n' terminator (JSON ignores trailing whitespace; quarantine strips it).
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1 : len(newlines) + 1] = newlines + 1
    if unterminated:
        offsets[-1] = len(content)
    lengths = np.diff(offsets)
    lengths[: len(newlines)] -= 1  # without the '\n'

    def line(i: int) -> bytes:
        return content[offsets[i] : offsets[i] + lengths[i]]

    keep = lengths <= MAX_LINE_BYTES
    rejected: list[tuple[int, str, str, str]] = []
    for i in np.flatnonzero(~keep):
        raw = redact_line(line(i)[: 4 * RAW_LINE_KEEP].decode("utf-8", errors="replace"))[:RAW_LINE_KEEP]
        rejected.append((int(i) + 1, raw, f"line longer than {MAX_LINE_BYTES >> 20} MiB",
                         f"{int(lengths[i])} bytes; the limit is {MAX_LINE_BYTES}: is the file JSON Lines (one record per line)?"))
    arr = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(content))
    if not _utf8_ok(arr, content):
        for i in np.flatnonzero(keep):
            try:
                line(i).decode("utf-8")
            except UnicodeDecodeError as exc:
                keep[i] = False
                rejected.append(
                    (int(i) + 1, redact_line(line(i).decode("utf-8", errors="replace"))[:RAW_LINE_KEEP], "invalid UTF-8",
                     f"byte {exc.start}: {exc.reason}; re-encode the file as UTF-8")
                )
    # (Array.from_buffers, not pa.array: pa.array of a numpy array imports pandas, ~0.3 s per process)
    numbers = np.arange(line_offset + 1, line_offset + count + 1, dtype=np.int64)
    line_no = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(numbers)])
    table = pa.table({"line_no": line_no, "line": arr})
    if not keep.all():
        mask = pa.Array.from_buffers(pa.bool_(), count, [None, pa.py_buffer(np.packbits(keep, bitorder="little"))])
        table = table.filter(mask)
    table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)
    return _Lines(count, table, rejected)


def _explain(line: str, reason: str, source_format: str | None) -> str | None:
    """Precise explanation of a rejected canonical line, from the pydantic model."""
    if source_format != "canonical":
        return None
    try:
        CanonicalLine.model_validate_json(line)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"]) or "line"
            value = err.get("input")
            shown = repr(value)[:80] if not isinstance(value, dict) else "{...}"
            parts.append(f"{loc}: {err['msg']} (got {shown})")
        return "; ".join(parts)
    return None


_COMMON_CHECKS = """
    CASE
        WHEN merged THEN NULL
        WHEN reason IS NOT NULL THEN reason
        WHEN request_id IS NULL OR request_id = '' THEN 'missing required field: request_id'
        WHEN ts IS NULL THEN 'missing required field: ts'
        WHEN model IS NULL OR model = '' THEN 'missing required field: model'
        WHEN input_tokens < 0 THEN 'negative value: input_tokens'
        WHEN output_tokens < 0 THEN 'negative value: output_tokens'
        WHEN cached_tokens < 0 THEN 'negative value: cached_tokens'
        WHEN reasoning_tokens < 0 THEN 'negative value: reasoning_tokens'
        WHEN cache_write_tokens < 0 THEN 'negative value: cache_write_tokens'
        WHEN tool_call_count < 0 THEN 'negative value: tool_call_count'
        WHEN cost_usd < 0 THEN 'negative value: cost_usd'
        WHEN latency_ms < 0 OR ttft_ms < 0 THEN 'negative value: latency'
        WHEN http_status IS NOT NULL AND (http_status < 100 OR http_status > 599)
            THEN 'invalid value: http_status must be 100-599'
        WHEN reasoning_tokens > coalesce(output_tokens, 0) THEN 'reasoning_tokens > output_tokens'
        WHEN cached_tokens > coalesce(input_tokens, 0) THEN 'cached_tokens > input_tokens'
    END
"""

# Normalised values, shared by every format: requests columns that ingest derives from the
# staged row (the others are taken from it by name: schema.REQUESTS columns with staged=True).
_FINISH = "('stop', 'tool_calls', 'length', 'content_filter', 'error', 'other')"
_PROVIDER = "coalesce(c.provider, c.attempt_list[-1].provider)"
_DERIVED: dict[str, str] = {
    "day": "CAST(timezone('UTC', c.ts) AS DATE)",
    # an empty or blank id is no id (LiteLLM writes end_user: "" when there is none)
    "user_hash": """CASE WHEN nullif(trim(c.user_raw), '') IS NOT NULL THEN sha256(getvariable('gatewaylens_salt') || c.user_raw)
                         ELSE nullif(trim(c.user_hash), '') END""",
    # session ids are opaque but often embed a user or account id: salted-hashed like user ids
    # (distinct sessions stay distinct); the 'session:' prefix keeps a session named like a user apart
    "session_id": """CASE WHEN nullif(trim(c.session_id), '') IS NOT NULL
                          THEN sha256(getvariable('gatewaylens_salt') || 'session:' || c.session_id) END""",
    # model identity (gatewaylens.identity): the staged id is the source's; _gl_model_map holds the
    # slug of each distinct raw id of the batch, resolved once in Python (register_identity)
    "model_raw": "coalesce(c.model_raw, c.model)",
    "model": "coalesce(mm.id_model, c.model)",
    "model_requested": "coalesce(mq.id_model, c.model_requested)",
    # list-price estimate (gatewaylens.prices): _gl_prices range-joined on raw id, provider, day, tier
    "cost_estimated_usd": prices.estimate_sql("p", "coalesce(c.input_tokens, 0)", "c.cached_tokens", "c.cache_write_tokens",
                                              "coalesce(c.output_tokens, 0)", "c.reasoning_tokens"),
    "cost_source": """CASE WHEN c.cost_usd IS NOT NULL THEN 'logged'
                           WHEN p.model_raw IS NOT NULL THEN 'estimated' ELSE 'unknown' END""",
    "provider": _PROVIDER,
    "status": """coalesce(c.status,
                 CASE WHEN c.http_status >= 400 OR c.finish_reason = 'error' THEN 'error' ELSE 'success' END)""",
    "finish_reason": f"""CASE
            WHEN c.finish_reason IN {_FINISH} THEN c.finish_reason
            WHEN c.finish_reason IS NOT NULL THEN 'other'
            WHEN c.status = 'error' OR c.http_status >= 400 THEN 'error'
            WHEN coalesce(c.tool_call_count, 0) > 0 THEN 'tool_calls'
            -- no reason reported (a cancelled stream, a span without finish_reasons): unknown is
            -- NULL, not 'other' ('other' is a reported reason outside the vocabulary)
        END""",
    "native_finish_reason": f"""coalesce(c.native_finish_reason,
                 CASE WHEN c.finish_reason NOT IN {_FINISH} THEN c.finish_reason END)""",
    "tool_call_count": "coalesce(c.tool_call_count, CASE WHEN c.finish_reason = 'tool_calls' THEN 1 ELSE 0 END)",
    "input_tokens": "coalesce(c.input_tokens, 0)",
    "output_tokens": "coalesce(c.output_tokens, 0)",
    "attempts": "coalesce(len(c.attempt_list), 1)",
}
# Set when the rows are written (file, line, time).
_AT_LOAD = ("source_file", "line_no", "ingested_at")
_REQUEST_COLUMNS = [c.name for c in schema.REQUESTS.columns if c.name not in _AT_LOAD]
for _col in _REQUEST_COLUMNS:  # every column is derived or staged: checked at import
    if _col not in _DERIVED and not schema.REQUESTS.column(_col).staged:
        raise AssertionError(f"requests.{_col} is neither staged nor derived in ingest._DERIVED")
_NORMALISE = f"""
    SELECT
        c.line_no, c.record_no, c.attempt_list,
        {", ".join(f"{_DERIVED.get(n, 'c.' + n)} AS {n}" for n in _REQUEST_COLUMNS)}
    FROM _gl_staged c
    LEFT JOIN (SELECT model_raw AS id_raw, model AS id_model FROM _gl_model_map) mm ON mm.id_raw = c.model
    LEFT JOIN (SELECT model_raw AS id_raw, model AS id_model FROM _gl_model_map) mq ON mq.id_raw = c.model_requested
    LEFT JOIN _gl_prices p ON {prices.join_sql("p", "c.model", _PROVIDER, "c.ts", "coalesce(c.input_tokens, 0)")}
    WHERE NOT c.merged AND ({_COMMON_CHECKS}) IS NULL
"""


def register_identity(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables _gl_model_map (slug of each distinct raw model id, served or requested) and
    _gl_prices (price rows of each distinct raw id x provider) for the staged batch: Python runs
    once per distinct id, the per-row work is the joins in _NORMALISE."""
    identity.register_model_map(con, "SELECT model FROM _gl_staged WHERE NOT merged "
                                     "UNION SELECT model_requested FROM _gl_staged WHERE NOT merged")
    prices.register_price_table(con, f"SELECT DISTINCT c.model, {_PROVIDER} FROM _gl_staged c WHERE NOT c.merged")


def _file_already_ingested(con: duckdb.DuckDBPyConnection, sha: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM ingested_files WHERE content_sha256 = ?", [sha]).fetchall()[0][0])


class _Pairs(list):
    """A JSON object's (key, value) pairs in order, duplicates kept (json object_pairs_hook)."""


PEEK_LINES = 100  # lines read ahead to decide whether the read_json fast path is worth trying


def _foreign_row(line: bytes) -> bool:
    """True when ``line`` is certainly not a canonical record: a JSON object with none of the
    required canonical keys, or carrying (non-null) a key of another format. Any doubt (not
    JSON, not an object, not UTF-8) returns False."""
    try:
        pairs = json.loads(line.decode("utf-8"), object_pairs_hook=_Pairs)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if not isinstance(pairs, _Pairs):
        return False  # not an object
    keys = {k for k, _ in pairs}
    folded = {k.casefold() for k in keys}  # in case the reader matches column names loosely
    if not any(r.casefold() in folded for r in canonical.REQUIRED):
        return True
    return any(k in keys and all(v is not None for kk, v in pairs if kk == k) for k in canonical.FOREIGN_KEYS)


def _head_foreign(path: Path, gzipped: bool, lines: int = PEEK_LINES) -> bool:
    """True when one of the file's first ``lines`` lines is certainly another format's record
    (:func:`_foreign_row`). Such a file (another format, or a mix) would have most of its lines
    re-staged line by line after the read_json pass, so it goes straight to the per-line path."""
    try:
        with (gzip.open if gzipped else open)(path, "rb") as fh:
            for _ in range(lines):
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return False
                if _foreign_row(line):
                    return True
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return False
    return False


def _stage_fast(con: duckdb.DuckDBPyConnection, path: Path, probe: _Probe) -> list[int] | None:
    """Fast path for canonical files: DuckDB's parallel read_json cuts every field out as a JSON
    fragment straight from the file, and canonical.staged_from_fragments checks them.

    Returns the line numbers of the rows it could not stage — ``_unfit``: not a JSON object
    (read_json with ignore_errors gives such a line an all-NULL row), invalid UTF-8, no
    request_id, ts or model, or a key that marks another format — for :func:`_restage` to replace
    through the per-line path; an empty list for a clean file. Returns None (nothing staged) when
    the rows do not map 1:1 onto the file's lines (read_json skips blank lines: a row-count
    mismatch) or read_json fails: the caller then takes the per-line path for the whole file.
    """
    if _head_foreign(path, probe.gzipped):
        return None
    names = [n for n, _ in canonical.FIELDS] + list(canonical.FOREIGN_KEYS)
    columns = "{" + ", ".join(f"'{n}': 'JSON'" for n in names) + "}"
    renamed = ", ".join(f'"{n}" AS f_{n}' for n in names)
    unfit = " OR ".join(
        [f"f_{n} IS NULL" for n in canonical.REQUIRED] + [f"f_{k} IS NOT NULL" for k in canonical.FOREIGN_KEYS]
    )
    fragments = f"""(SELECT CAST(0 AS BIGINT) AS line_no, {renamed}
                     FROM read_json(?, format = 'newline_delimited', records = true, columns = {columns},
                                    compression = ?, maximum_object_size = {FAST_PATH_MAX_LINE_BYTES},
                                    ignore_errors = true))"""
    con.execute("SET preserve_insertion_order = true")  # line numbers below depend on it
    _create_staged(con, "_gl_staged", unfit_column=True)
    try:
        con.execute(
            "INSERT INTO _gl_staged BY NAME "
            + canonical.staged_from_fragments(fragments, extra=f"({unfit}) AS _unfit"),
            [str(path), "gzip" if probe.gzipped else "none"],
        )
    except duckdb.Error:
        return None
    # Line numbers: with preserve_insertion_order (DuckDB's default) a CREATE TABLE AS keeps the
    # reader's order, so a row's position in the new table is its line. (A row_number() window
    # here would push the whole parse through one thread.)
    con.execute("UPDATE _gl_staged SET line_no = rowid + 1")
    rows = con.execute("SELECT count(*) FROM _gl_staged").fetchall()[0][0]
    if rows != probe.lines:
        con.execute("DROP TABLE _gl_staged")
        return None
    return [r[0] for r in con.execute("SELECT line_no FROM _gl_staged WHERE _unfit ORDER BY line_no").fetchall()]


def _restage(con: duckdb.DuckDBPyConnection, table: pa.Table, line_nos: list[int], fmt: str | None) -> bool:
    """Replace the fast path's rows of ``line_nos`` in _gl_staged by what the per-line path makes
    of those lines of ``table`` (detection, every format, precise reasons). Lines missing from
    ``table`` (rejected on bytes) lose their row: the caller quarantines them. Returns whether a
    format that may hold several records per line was staged."""
    wanted = np.asarray(line_nos, dtype=np.int64)
    value_set = pa.Array.from_buffers(pa.int64(), len(wanted), [None, pa.py_buffer(wanted)])  # pa.array imports pandas
    con.register("_gl_lines", table.filter(pc.is_in(table["line_no"], value_set=value_set)))
    try:
        multi_format = _stage(con, fmt, into="_gl_restaged")
        con.execute("DELETE FROM _gl_staged WHERE _unfit")
        con.execute("INSERT INTO _gl_staged BY NAME SELECT * FROM _gl_restaged")
        con.execute("DROP TABLE _gl_restaged")
    finally:
        con.unregister("_gl_lines")
    return multi_format


def _create_staged(con: duckdb.DuckDBPyConnection, into: str, unfit_column: bool = False) -> None:
    """Empty temp table ``into`` with formats.STAGED_COLUMNS (record_no defaults to 0; the fast
    path adds ``_unfit``). Formats insert BY NAME: a column they do not set stays NULL."""
    if into not in ("_gl_staged", "_gl_restaged"):  # an identifier: fixed names only
        raise ValueError(into)
    cols = [f"{n} {t}" + (" DEFAULT 0" if n == "record_no" else "") for n, t in formats.STAGED_COLUMNS]
    if unfit_column:
        cols.append("_unfit BOOLEAN")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} ({', '.join(cols)})")


# Formats whose lines may hold several requests (several staged rows per line, record_no 0, 1, ...).
MULTI_RECORD_FORMATS = frozenset({"otel"})


def _stage(con: duckdb.DuckDBPyConnection, fmt: str | None, into: str = "_gl_staged") -> bool:
    """Create temp table ``into`` (formats.STAGED_COLUMNS) from the registered _gl_lines.
    Returns whether a format that may put several records in one line was staged."""
    _create_staged(con, into)
    # Lines that are not JSON objects are rejected first, also when a format is forced.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _gl_detected AS {formats.detect_sql('_gl_lines', forced=fmt)}")
    present = [r[0] for r in con.execute("SELECT DISTINCT fmt FROM _gl_detected").fetchall()]
    shapes = [name for name in present if not name.startswith("!")]
    for name in shapes:  # names come from formats.FORMATS, never from input
        source = "_gl_lines"
        if len(present) > 1:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW _gl_fmt_lines AS SELECT line_no, line FROM _gl_lines "
                f"WHERE line_no IN (SELECT line_no FROM _gl_detected WHERE fmt = '{name}')"
            )
            source = "_gl_fmt_lines"
        # BY NAME: a format that leaves out record_no gets its default, 0
        con.execute(f"INSERT INTO {into} BY NAME {formats.get(name).staged_sql(source)}")
    con.execute(
        f"INSERT INTO {into} (line_no, reason, merged) "
        "SELECT line_no, substr(fmt, 2), false FROM _gl_detected WHERE fmt LIKE '!%'"
    )
    return any(name in MULTI_RECORD_FORMATS for name in shapes)


def _raw_lines(table: pa.Table, line_nos: list[int]) -> dict[int, str]:
    """Text of the given lines (for quarantine), without their line terminator and with message
    content redacted (redact.py)."""
    if not line_nos:
        return {}
    wanted = np.asarray(line_nos, dtype=np.int64)
    value_set = pa.Array.from_buffers(pa.int64(), len(wanted), [None, pa.py_buffer(wanted)])  # pa.array imports pandas
    picked = table.filter(pc.is_in(table["line_no"], value_set=value_set))
    return {
        int(n): redact_line((t or "").rstrip("\r\n"))[:RAW_LINE_KEEP]
        for n, t in zip(picked["line_no"].to_pylist(), picked["line"].to_pylist())
    }


FILE_SHIFT = 32  # staged line_no = (file number in the batch << 32) | line number in the file
assert formats.otel.FILE_SHIFT == FILE_SHIFT  # OTel spans match within one file of a batch
BATCH_LINES = 200_000  # small files are staged together up to this many lines (one transaction)


@dataclass
class _Item:
    path: Path
    probe: _Probe
    result: FileResult
    started: float


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    salt: str,
    fmt: str | None = None,
    force: bool = False,
) -> FileResult:
    """Ingest one file in one transaction. ``fmt`` forces a format (default: detect per line)."""
    return ingest_files(con, [path], salt=salt, fmt=fmt, force=force)[0]


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    salt: str,
    fmt: str | None = None,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    batch_lines: int = BATCH_LINES,
) -> list[FileResult]:
    """Ingest files in order. Small files are staged together in batches of up to ``batch_lines``
    lines — one pass of the SQL and one transaction per batch, so a batch (and each of its files)
    is wholly in or wholly out — because per-statement overhead dominates files of a few thousand
    lines. A large file is staged alone and may take the read_json fast path."""
    results: list[FileResult] = []
    pending: list[_Item] = []
    seen: set[str] = set()

    def flush() -> None:
        if pending:
            done = _ingest_group(con, pending, salt=salt, fmt=fmt)
            pending.clear()
            for r in done:
                results.append(r)
                if on_file is not None:
                    on_file(r)

    for path in map(Path, paths):
        started = time.perf_counter()
        try:
            probe = probe_file(path)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            flush()
            results.append(_record_unreadable(con, path, exc, started))
            if on_file is not None:
                on_file(results[-1])
            continue
        result = FileResult(path=str(path), content_sha256=probe.sha256, bytes=probe.bytes, lines=probe.lines,
                            records=probe.lines)
        if not force and (probe.sha256 in seen or _file_already_ingested(con, probe.sha256)):
            result.skipped, result.lines, result.records = True, 0, 0
            result.seconds = time.perf_counter() - started
            flush()
            results.append(result)
            if on_file is not None:
                on_file(result)
            continue
        seen.add(probe.sha256)
        if probe.lines >= batch_lines // 2:
            flush()
            pending.append(_Item(path, probe, result, started))
            flush()
            continue
        if pending and sum(i.probe.lines for i in pending) + probe.lines > batch_lines:
            flush()
        pending.append(_Item(path, probe, result, started))
    flush()
    return results


def _ingest_group(con: duckdb.DuckDBPyConnection, items: list[_Item], *, salt: str, fmt: str | None) -> list[FileResult]:
    """Stage, check and insert a group of files in one transaction."""
    now = dt.datetime.now(dt.timezone.utc)
    con.execute("SET VARIABLE gatewaylens_salt = ?", [salt])
    rejected: list[tuple[int, str, str, str]] = []  # staged line_no, raw, reason, detail
    registered = fast = multi = False

    def load_lines(rows_for: set[int] | None = None) -> pa.Table:
        """The group's lines; lines rejected on bytes go to ``rejected`` — on the fast path only
        those in ``rows_for`` (the others already have their row)."""
        parts = []
        for k, item in enumerate(items):
            shift = k << FILE_SHIFT
            lines = split_lines(read_content(item.path), line_offset=shift)
            parts.append(lines.table)
            rejected.extend((shift | ln, raw, reason, detail) for ln, raw, reason, detail in lines.rejected
                            if rows_for is None or (shift | ln) in rows_for)
        return pa.concat_tables(parts) if parts else parts

    try:
        # Staging writes only temp tables; the transaction covers every write to the warehouse.
        only = items[0] if len(items) == 1 else None
        unfit = None
        if only and only.probe.lines > 0 and fmt in (None, canonical.NAME):
            unfit = _stage_fast(con, only.path, only.probe)
        fast = unfit is not None
        table = None
        multi_format = False
        if fast and unfit:
            # A few lines the fast path could not take (a truncated last line, another format...)
            # go through the per-line path; the rest of the file keeps its fast-path rows.
            table = load_lines(rows_for=set(unfit))
            multi_format = _restage(con, table, unfit, fmt)
        elif not fast:
            table = load_lines()
            con.register("_gl_lines", table)
            registered = True
            multi_format = _stage(con, fmt)
        if multi_format:
            multi = con.execute("SELECT coalesce(max(record_no), 0) > 0 FROM _gl_staged").fetchall()[0][0]
        register_identity(con)
        con.execute("BEGIN TRANSACTION")
        # New rows = rows that pass every check, minus duplicates: a request_id repeated in the
        # input (first occurrence wins, in file, line and record order) or already stored. Only
        # lines holding several records (multi) need record_no to tell their rows apart.
        first = "min({'line_no': line_no, 'record_no': record_no}) AS k" if multi else "min(line_no) AS line_no"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _gl_new AS
                SELECT {"k.line_no, k.record_no FROM (SELECT " if multi else ""}{first} FROM _gl_staged
                WHERE NOT merged AND ({_COMMON_CHECKS}) IS NULL
                GROUP BY request_id
                HAVING request_id NOT IN (SELECT request_id FROM requests){")" if multi else ""}"""
        )
        per_file = {
            int(f): (int(good), int(merged), int(extra))
            for f, good, merged, extra in con.execute(
                f"""SELECT line_no >> {FILE_SHIFT},
                           count(*) FILTER (WHERE NOT merged AND ({_COMMON_CHECKS}) IS NULL),
                           count(*) FILTER (WHERE merged),
                           {"count(*) FILTER (WHERE record_no > 0)" if multi else "0"}
                    FROM _gl_staged GROUP BY ALL"""
            ).fetchall()
        }
        new_per_file = dict(
            con.execute(f"SELECT line_no >> {FILE_SHIFT}, count(*) FROM _gl_new GROUP BY ALL").fetchall()
        )
        paths = [str(i.path) for i in items]
        # Usually every good row is new (no duplicates): then the good-row test stands in for the
        # semi-join against _gl_new, which costs about a third of the inserts.
        all_new = sum(new_per_file.values()) == sum(good for good, _, _ in per_file.values())
        if all_new:
            is_new = f"NOT merged AND ({_COMMON_CHECKS}) IS NULL"
        elif multi:
            is_new = "(line_no, record_no) IN (SELECT line_no, record_no FROM _gl_new)"
        else:
            is_new = "line_no IN (SELECT line_no FROM _gl_new)"
        con.execute(
            f"""INSERT INTO requests ({", ".join(_REQUEST_COLUMNS)}, {", ".join(_AT_LOAD)})
                SELECT {", ".join(_REQUEST_COLUMNS)},
                       list_extract(?, CAST((line_no >> {FILE_SHIFT}) + 1 AS BIGINT)),
                       line_no & {(1 << FILE_SHIFT) - 1}, ?
                FROM ({_NORMALISE}){"" if all_new else " WHERE " + is_new}""",
            [paths, now],
        )
        con.execute(
            f"""INSERT INTO provider_attempts {schema.insert_columns("provider_attempts")}
               SELECT request_id, 1, provider, http_status, latency_ms, ts, CAST(timezone('UTC', ts) AS DATE)
               FROM _gl_staged
               WHERE attempt_list IS NULL AND provider IS NOT NULL AND {is_new}
               UNION ALL
               SELECT request_id, CAST(i AS INTEGER), att.provider, att.http_status, att.latency_ms,
                      coalesce(att.ts, ts), CAST(timezone('UTC', ts) AS DATE)
               FROM (SELECT request_id, ts, unnest(attempt_list) AS att, unnest(range(1, len(attempt_list) + 1)) AS i
                     FROM _gl_staged WHERE attempt_list IS NOT NULL AND {is_new})"""
        )
        # A changed file is re-read whole: its earlier quarantine rows are replaced.
        con.execute("DELETE FROM quarantine WHERE list_contains(?, source_file)", [paths])
        # One quarantine row per rejected record: a line holding several requests (an OTLP
        # batch) keeps its good ones, and each rejected one is named in the detail.
        of_line = "count(*) OVER (PARTITION BY line_no)" if multi else "1"
        bad = con.execute(
            f"""SELECT line_no, final_reason, source_format, record_no, records_in_line, request_id
                FROM (SELECT line_no, record_no, request_id, source_format, {_COMMON_CHECKS} AS final_reason,
                             {of_line} AS records_in_line
                      FROM _gl_staged)
                WHERE final_reason IS NOT NULL ORDER BY line_no, record_no"""
        ).fetchall()
        if bad and table is None:  # fast path: read the few rejected lines' text back
            table = load_lines(rows_for=set())
        raw = _raw_lines(table, [b[0] for b in bad]) if bad else {}
        mask = (1 << FILE_SHIFT) - 1
        quarantine_rows = [
            (paths[ln >> FILE_SHIFT], ln & mask, raw[ln], reason,
             _explain(raw[ln], reason, sf) if n == 1 else f"record {rec + 1} of the {n} in this line: {rid or 'no id'}",
             sf, now)
            for ln, reason, sf, rec, n, rid in bad
        ]
        quarantine_rows += [
            (paths[ln >> FILE_SHIFT], ln & mask, text, reason, detail, None, now) for ln, text, reason, detail in rejected
        ]
        _insert_quarantine(con, quarantine_rows)
        quarantined = [0] * len(items)
        for row in quarantine_rows:
            quarantined[paths.index(row[0])] += 1
        for k, item in enumerate(items):
            good, merged, extra = per_file.get(k, (0, 0, 0))
            r = item.result
            r.records = r.lines + extra  # a line holding k requests is k records
            r.rows_inserted = int(new_per_file.get(k, 0))
            r.duplicates = good - r.rows_inserted
            r.quarantined = quarantined[k]
            r.merged = merged
            r.fast_path = fast
            _record_file(con, r, now)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    finally:
        if registered:
            con.unregister("_gl_lines")
    finished = time.perf_counter()
    for item in items:
        item.result.seconds = finished - item.started
    return [item.result for item in items]


def _record_file(con: duckdb.DuckDBPyConnection, r: FileResult, at: dt.datetime) -> None:
    """One row of ingested_files (the FileResult attribute of each column)."""
    names = schema.INGESTED_FILES.names()
    values = {"ingested_at": at, **{n: getattr(r, n) for n in names if n != "ingested_at"}}
    con.execute(
        f"INSERT INTO ingested_files {schema.insert_columns('ingested_files')} VALUES ({', '.join('?' * len(names))})",
        [values[n] for n in names],
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, rows: list[tuple], chunk: int = 256) -> None:
    """Multi-row VALUES inserts (executemany is slow on a connection with registered Arrow data).
    ``rows`` are tuples in the column order of schema.QUARANTINE."""
    marks = "(" + ", ".join("?" * len(schema.QUARANTINE.columns)) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(
            f"INSERT INTO quarantine {schema.insert_columns('quarantine')} VALUES " + ", ".join([marks] * len(part)),
            [value for row in part for value in row],
        )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # the failure happened before BEGIN


def _record_unreadable(con: duckdb.DuckDBPyConnection, path: Path, exc: Exception, started: float) -> FileResult:
    """A file that cannot be read or decompressed is one quarantined 'line' (line_no 0)."""
    now = dt.datetime.now(dt.timezone.utc)
    raw = path.read_bytes() if path.exists() else b""
    sha = hashlib.sha256(raw).hexdigest()
    result = FileResult(path=str(path), content_sha256=sha, bytes=len(raw), lines=1, records=1, quarantined=1)
    if _file_already_ingested(con, sha):
        return FileResult(path=str(path), content_sha256=sha, bytes=len(raw), skipped=True)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM quarantine WHERE source_file = ?", [str(path)])
    con.execute(
        f"INSERT INTO quarantine {schema.insert_columns('quarantine')} VALUES (?, 0, ?, 'unreadable file', ?, NULL, ?)",
        [str(path), raw[:256].decode("utf-8", errors="replace"),
         f"{type(exc).__name__}: {exc}; check the file is complete (a truncated .gz cannot be read)", now],
    )
    _record_file(con, result, now)
    con.execute("COMMIT")
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
) -> IngestSummary:
    """Ingest files and folders (recursive). Raises MissingPathError before writing anything if a
    path does not exist."""
    files = find_input_files(paths)
    if fmt is not None:
        formats.get(fmt)  # fail fast on an unknown format name
    started = time.perf_counter()
    summary = IngestSummary(files=ingest_files(con, files, salt=salt, fmt=fmt, force=force, on_file=on_file))
    summary.seconds = time.perf_counter() - started
    return summary
