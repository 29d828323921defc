"""Stage 1, *read*: find the input files and stream each one in bounded chunks of whole lines.

Nothing here holds a whole file, and a file is read once: :func:`chunks` streams it in chunks
of at most :data:`CHUNK_BYTES` bytes / :data:`CHUNK_LINES` lines, each handed to DuckDB as one
Arrow column (plain or gzip; gzip is recognised by its magic bytes), and records in a
:class:`Probe` what the stream showed (sha256, size, lines, BOM) as it goes. :func:`probe` is
the same pass without the chunks, for the files that need their identity before anything is
staged (a path ingested before: probably unchanged, skipped on its hash) and for the canonical
read_json fast path (hashed by a thread while DuckDB parses the file). A leading UTF-8 byte order mark is stripped from the first line
of every file, however files are batched. Lines that cannot reach DuckDB — longer than
``max_line_bytes``, not valid UTF-8, or empty — are set aside here with their reason.

Limits (``config.Settings``, per file): decompressed size (``ingest_max_file_bytes``) and
decompression ratio (``ingest_max_gzip_ratio``); a file over either is :class:`OverLimit` and
is recorded as one ``over limit`` record, never read further.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

# Longest line read (64 MiB): an OTLP/JSON line from the collector's file exporter batches
# thousands of spans (several MiB); an envelope may carry a long request body. A longer "line" is
# usually a file that is not line-delimited at all, and is quarantined.
MAX_LINE_BYTES = 64 << 20
CHUNK_BYTES = 64 << 20  # bytes of whole lines per chunk (one Arrow column handed to DuckDB)
CHUNK_LINES = 1 << 20  # lines per chunk at most (a run of short lines must not blow up the offsets)
READ_BYTES = 16 << 20  # one read from the (decompressed) stream
BATCH_ROWS = 16_384  # Arrow record batches DuckDB can scan in parallel
BOM = b"\xef\xbb\xbf"
# Files picked up when a folder is given (a file named explicitly is read whatever its name).
# Plain .json is left out on purpose: folders hold metadata such as the generator's truth.json.
LOG_SUFFIXES = (".jsonl", ".ndjson", ".log", ".jsonl.gz", ".ndjson.gz", ".log.gz")
RAW_PREFIX = 4 << 10  # bytes of a set-aside line kept for its (redacted) quarantine text


class MissingPathError(FileNotFoundError):
    """An input path given to ingest does not exist."""


class OverLimit(Exception):
    """A file exceeds a per-file limit (decompressed size, decompression ratio)."""


class NotRegularFile(Exception):
    """A path names a FIFO, a device or a socket: never opened (a FIFO would block)."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 64 << 30  # decompressed bytes per file
    max_gzip_ratio: float = 100.0  # decompressed / compressed bytes, checked past the first MiB
    max_line_bytes: int = MAX_LINE_BYTES


def find_input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files under ``paths`` (files or folders, recursive), sorted. Raises MissingPathError naming
    every path that does not exist, before anything is read. Inside a folder, symlinks whose target
    leaves the folder are not followed (a landing folder holding a link to /etc/passwd does not
    ingest it), and only regular files with a log suffix are taken; a path named explicitly is
    taken as it is (a FIFO or a device named explicitly is recorded as refused by ingest)."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not (p.exists() or p.is_symlink())]
    if missing:
        raise MissingPathError(
            "no such file or folder: " + ", ".join(missing) + " (check the path, or the GATEWAYLENS_LANDING setting)"
        )
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            root = p.resolve()
            for f in sorted(p.rglob("*")):
                if not f.name.endswith(LOG_SUFFIXES):
                    continue
                try:
                    target = f.resolve(strict=True)
                except (OSError, RuntimeError):  # dangling or looping link
                    continue
                if target.is_relative_to(root) and f.is_file():
                    found.append(f)
        else:
            found.append(p)
    return sorted(dict.fromkeys(found))


def _check_regular(path: Path) -> None:
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"
        raise NotRegularFile(f"not a regular file ({kind}); ingest reads regular files only")


def regular_size(path: Path) -> int:
    """Bytes on disk of a regular file; NotRegularFile for a FIFO, a device or a socket."""
    _check_regular(path)
    return os.stat(path).st_size


def is_gzip(path: Path) -> bool:
    _check_regular(path)
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _stream(path: Path, limits: Limits) -> Iterator[bytes]:
    """The decompressed bytes of ``path`` in blocks, enforcing the size and ratio limits."""
    gz = is_gzip(path)
    with path.open("rb") as raw:
        fh = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        size = 0
        while block := fh.read(READ_BYTES):
            size += len(block)
            if size > limits.max_file_bytes:
                raise OverLimit(f"more than {limits.max_file_bytes:,} bytes decompressed (ingest_max_file_bytes)")
            if gz and size > (1 << 20):
                ratio = size / max(raw.tell(), 1)
                if ratio > limits.max_gzip_ratio:
                    raise OverLimit(f"decompression ratio above {limits.max_gzip_ratio:g} after {size:,} bytes "
                                    "(ingest_max_gzip_ratio): a decompression bomb?")
            yield block


@dataclass
class Probe:
    """What one streaming pass over a file tells: identity, size and line count."""

    sha256: str = ""
    bytes: int = 0
    lines: int = 0
    gzipped: bool = False
    bom: bool = False


def probe(path: Path, limits: Limits = Limits()) -> Probe:
    """sha256 of the decompressed content, its size, its lines and whether it starts with a BOM, in
    one streaming pass. Raises OverLimit, NotRegularFile, OSError or a gzip error."""
    digest = hashlib.sha256()
    size = newlines = 0
    last = b"\n"
    first = b""
    for block in _stream(path, limits):
        if len(first) < 3:
            first += block[:3]
        digest.update(block)
        size += len(block)
        newlines += _newlines(block)
        last = block[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    return Probe(digest.hexdigest(), size, lines, is_gzip(path), first.startswith(BOM))


def _newlines(block: bytes) -> int:
    # (numpy releases the GIL: a probe in a thread runs beside DuckDB's parse)
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))


@dataclass
class SetAside:
    """A line that never reaches DuckDB: its number, reason, a prefix of its bytes and a detail."""

    line_no: int
    reason: str
    prefix: bytes
    detail: str


@dataclass
class Chunk:
    """Consecutive whole lines of one file: ``table`` holds (line_no, line) of the lines DuckDB
    will parse (line_no = ``shift`` | 1-based line number), ``set_aside`` lines rejected on bytes,
    ``empty`` the numbers of empty lines (each is an 'empty line' record)."""

    lines: int
    table: pa.Table
    set_aside: list[SetAside] = field(default_factory=list)
    empty: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


# (Arrow tables are built with from_arrays / from_batches: pa.table and pa.array import pandas,
# ~0.5 s of every CLI run)
LINES_SCHEMA = pa.schema([("line_no", pa.int64()), ("line", pa.large_string())])


def _utf8_ok(arr: pa.LargeStringArray) -> bool:
    try:
        arr.validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


def _int64(values: np.ndarray) -> pa.Array:
    # (Array.from_buffers, not pa.array: pa.array of a numpy array imports pandas, ~0.3 s per process)
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _split(body: bytes, first_line: int, shift: int, limits: Limits, bom: bool, terminated: bool) -> Iterator[Chunk]:
    """Chunks of the whole lines in ``body`` (each ending in '\n', except the last when not
    ``terminated``); the first is line number ``first_line``."""
    view = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    if not terminated:
        ends = np.append(ends, len(body))
    starts = np.empty(len(ends), dtype=np.int64)
    if len(ends):
        starts[0] = len(BOM) if bom and body.startswith(BOM) else 0
        starts[1:] = ends[:-1] + 1
    buffer = pa.py_buffer(body)
    for lo in range(0, len(ends), CHUNK_LINES):
        s, e = starts[lo : lo + CHUNK_LINES], ends[lo : lo + CHUNK_LINES]
        numbers = np.arange(first_line + lo, first_line + lo + len(s), dtype=np.int64)
        lengths = e - s
        keep = (lengths > 0) & (lengths <= limits.max_line_bytes)
        set_aside = [
            SetAside(int(numbers[i]), f"line longer than {limits.max_line_bytes >> 20} MiB", body[s[i] : s[i] + RAW_PREFIX],
                     f"{int(lengths[i])} bytes; the limit is {limits.max_line_bytes}: is the file JSON Lines "
                     "(one record per line)?")
            for i in np.flatnonzero(lengths > limits.max_line_bytes)
        ]
        empty = numbers[lengths == 0]
        # Each string spans its line and the '\n' after it (JSON ignores trailing whitespace).
        offsets = np.empty(len(s) + 1, dtype=np.int64)
        offsets[:-1] = s
        offsets[-1] = e[-1] + 1 if terminated or lo + len(s) < len(ends) else e[-1]
        arr = pa.LargeStringArray.from_buffers(len(s), pa.py_buffer(np.ascontiguousarray(offsets)), buffer)
        if not _utf8_ok(arr):
            for i in np.flatnonzero(keep):
                try:
                    body[s[i] : e[i]].decode("utf-8")
                except UnicodeDecodeError as exc:
                    keep[i] = False
                    # (the prefix stops at the line's end: it was 4 KiB whatever the line, i.e. the
                    # next lines' bytes too, and a flood of short bad lines held ~4 KiB each)
                    set_aside.append(SetAside(int(numbers[i]), "invalid UTF-8", body[s[i] : min(e[i], s[i] + RAW_PREFIX)],
                                              f"byte {exc.start}: {exc.reason}; re-encode the file as UTF-8"))
        table = pa.Table.from_arrays([_int64(numbers | shift), arr], schema=LINES_SCHEMA)
        if not keep.all():
            mask = pa.Array.from_buffers(pa.bool_(), len(keep), [None, pa.py_buffer(np.packbits(keep, bitorder="little"))])
            table = table.filter(mask)
        table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)
        yield Chunk(len(s), table, set_aside, empty)


def chunks(path: Path, shift: int = 0, limits: Limits = Limits(), seen: Probe | None = None) -> Iterator[Chunk]:
    """The lines of ``path`` in bounded chunks (see the module doc). A line longer than
    ``limits.max_line_bytes`` is never held whole: its first bytes are kept and the rest skipped.
    With ``seen``, the pass also fills it in (sha256 of the decompressed bytes, their size, the
    lines, gzip, BOM): complete once the iterator is exhausted."""
    digest = hashlib.sha256() if seen is not None else None
    if seen is not None:
        seen.gzipped, seen.bytes, seen.lines, seen.bom = is_gzip(path), 0, 0, False
    for chunk in _chunks(path, shift, limits, digest, seen):
        if seen is not None:
            seen.lines += chunk.lines
        yield chunk
    if seen is not None and digest is not None:
        seen.sha256 = digest.hexdigest()


def _hashed(path: Path, limits: Limits, digest, seen: Probe | None) -> Iterator[bytes]:
    first = True
    for block in _stream(path, limits):
        if digest is not None:
            digest.update(block)
            seen.bytes += len(block)
            if first:
                seen.bom, first = block.startswith(BOM), False
        yield block


def _chunks(path: Path, shift: int, limits: Limits, digest, seen: Probe | None) -> Iterator[Chunk]:
    carry = b""
    line = 1  # number of the first line not yet emitted
    skipping: SetAside | None = None  # an overlong line being skipped up to its '\n'
    skipped = 0
    first = True
    pending: list[bytes] = []  # whole lines read but not yet split (staged in chunks of CHUNK_BYTES)
    pending_bytes = pending_lines = 0
    for block in _hashed(path, limits, digest, seen):
        if skipping is not None:
            nl = block.find(b"\n")
            if nl < 0:
                skipped += len(block)
                continue
            skipped += nl
            skipping.detail = f"{skipped:,} bytes; the limit is {limits.max_line_bytes:,}: is the file JSON Lines?"
            yield Chunk(1, EMPTY_LINES, [skipping])
            line += 1
            skipping, block = None, block[nl + 1 :]
        buf = carry + block if carry else block
        last = buf.rfind(b"\n")
        if last < 0:
            carry = buf
        else:
            body, carry = buf[: last + 1], buf[last + 1 :]
            pending.append(body)
            pending_bytes += len(body)
            pending_lines += _newlines(body)
            if pending_bytes >= CHUNK_BYTES or pending_lines >= CHUNK_LINES:
                for chunk in _split(b"".join(pending), line, shift, limits, first, terminated=True):
                    line += chunk.lines
                    yield chunk
                first, pending, pending_bytes, pending_lines = False, [], 0, 0
        if len(carry) > limits.max_line_bytes:
            if pending:
                for chunk in _split(b"".join(pending), line, shift, limits, first, terminated=True):
                    line += chunk.lines
                    yield chunk
                first, pending, pending_bytes, pending_lines = False, [], 0, 0
            skipping = SetAside(line, f"line longer than {limits.max_line_bytes >> 20} MiB", carry[:RAW_PREFIX], "")
            skipped, carry = len(carry), b""
    if pending:
        for chunk in _split(b"".join(pending), line, shift, limits, first, terminated=True):
            line += chunk.lines
            yield chunk
        first = False
    if skipping is not None:
        skipping.detail = f"{skipped:,} bytes; the limit is {limits.max_line_bytes:,}: is the file JSON Lines?"
        yield Chunk(1, EMPTY_LINES, [skipping])
    elif carry:
        yield from _split(carry, line, shift, limits, first, terminated=False)


EMPTY_LINES = pa.Table.from_batches([], schema=LINES_SCHEMA)
