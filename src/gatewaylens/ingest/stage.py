"""Stage 2, *stage* (the format readers) — with stage 3, *check*, applied as the rows are written.

:func:`stage_lines` turns a registered relation of lines (``_gl_lines``: line_no, line) into
staged rows appended to a temp table (``formats.STAGED_COLUMNS``): detection labels each line
with its format (or a rejection), each format's ``staged_sql`` makes its rows, and every row is
written with its final ``reason`` (:func:`check.reason_sql`, evaluated once). A format's
relation is first completed to every staged column (NULL for a column it does not set), so the
checks — and the row contract — see the same columns for every format.

:func:`stage_fast` is the canonical fast path: DuckDB's parallel ``read_json`` reads the file
straight from disk, every canonical field cut out as a JSON fragment.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from gatewaylens import formats
from gatewaylens.formats import canonical
from gatewaylens.ingest import check
from gatewaylens.ingest.read import BOM, MAX_LINE_BYTES, is_gzip

# read_json's buffers grow with its maximum_object_size, which costs the fast path its
# parallelism; a file with a longer line fails read_json and takes the per-line path.
FAST_PATH_MAX_LINE_BYTES = 1 << 20
PEEK_LINES = 100  # lines read ahead to decide whether the read_json fast path is worth trying
# Formats whose lines may hold several requests (several staged rows per line, record_no 0, 1, ...).
MULTI_RECORD_FORMATS = frozenset({"otel"})
_TABLES = ("_gl_staged", "_gl_chunk")  # the temp tables staging writes (identifiers: fixed names only)
_EMPTY_LINES = "(SELECT CAST(0 AS BIGINT) AS line_no, CAST('' AS VARCHAR) AS line WHERE false)"


def create(con: duckdb.DuckDBPyConnection, into: str) -> None:
    """Empty temp table ``into`` with formats.STAGED_COLUMNS (record_no defaults to 0)."""
    if into not in _TABLES:
        raise ValueError(into)
    cols = ", ".join(f"{n} {t}" + (" DEFAULT 0" if n == "record_no" else "") for n, t in formats.STAGED_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} ({cols})")


_PRODUCED: dict[str, frozenset[str]] = {}


def produced_columns(con: duckdb.DuckDBPyConnection, name: str) -> frozenset[str]:
    """Columns a format's staged_sql produces (DESCRIBE over an empty relation of lines, once)."""
    if name not in _PRODUCED:
        sql = formats.get(name).staged_sql(_EMPTY_LINES)
        _PRODUCED[name] = frozenset(r[0] for r in con.execute(f"DESCRIBE {sql}").fetchall())
    return _PRODUCED[name]


def checked(sql: str, produced: frozenset[str], extra: tuple[str, ...] = ()) -> str:
    """``sql`` completed to every staged column (NULL for those it does not produce; record_no 0)
    with ``reason`` replaced by the final one (check.reason_sql, once per row)."""
    cols = []
    for n, t in formats.STAGED_COLUMNS:
        if n == "reason":
            continue
        if n in produced:
            cols.append(n)
        else:
            cols.append(f"CAST({'0' if n == 'record_no' else 'NULL'} AS {t}) AS {n}")
    return f"""SELECT {", ".join(cols + list(extra))}, {check.reason_sql()} AS reason
               FROM (SELECT {", ".join(cols + list(extra))}, {"reason" if "reason" in produced else "NULL"} AS reason
                     FROM ({sql}))"""


def stage_lines(con: duckdb.DuckDBPyConnection, fmt: str | None, into: str) -> bool:
    """Append to ``into`` the staged, checked rows of the registered ``_gl_lines``. Returns
    whether a format that may put several records in one line was staged."""
    if into not in _TABLES:
        raise ValueError(into)
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
        sql = formats.get(name).staged_sql(source)
        con.execute(f"INSERT INTO {into} BY NAME {checked(sql, produced_columns(con, name))}")
    con.execute(
        f"INSERT INTO {into} (line_no, reason, merged) "
        "SELECT line_no, substr(fmt, 2), false FROM _gl_detected WHERE fmt LIKE '!%'"
    )
    return any(name in MULTI_RECORD_FORMATS for name in shapes)


class _Pairs(list):
    """A JSON object's (key, value) pairs in order, duplicates kept (json object_pairs_hook)."""


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


def fast_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The fast path's staging SELECT (parameters: the file, its compression): read_json cuts every
    canonical field (and the keys of other formats) out of each line as a JSON fragment, in
    parallel; the rows come out checked (check.reason_sql) with ``_unfit`` for the lines the
    per-line path must take (see :func:`stage_fast`)."""
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
    sql = canonical.staged_from_fragments(fragments, extra=f"({unfit}) AS _unfit")
    return checked(sql, produced_columns(con, canonical.NAME), ("_unfit",))


# The top-level keys of every line of a file (parameters: the file, its compression), for the
# fast path's duplicate-key pass: shape = the keys joined by chr(1), n = how many.
KEY_SHAPES_SQL = f"""SELECT array_to_string(k, chr(1)) AS shape, len(k) AS n
    FROM (SELECT try(json_keys(json)) AS k
          FROM read_json_objects(?, format = 'newline_delimited', compression = ?,
                                 maximum_object_size = {FAST_PATH_MAX_LINE_BYTES}, ignore_errors = true))"""


def stage_fast(con: duckdb.DuckDBPyConnection, path: Path, lines: Callable[[], int]) -> list[int] | None:
    """Fast path for canonical files, into ``_gl_staged`` (checked rows, line_no = line number).

    Returns the line numbers of the rows it could not stage — ``_unfit``: not a JSON object
    (read_json with ignore_errors gives such a line an all-NULL row), invalid UTF-8, no
    request_id, ts or model, or a key that marks another format — for the caller to re-stage
    through the per-line path; an empty list for a clean file. Returns None (nothing staged) when
    the rows do not map 1:1 onto the file's lines (read_json skips blank lines: a row-count
    mismatch) or read_json fails: the caller then takes the per-line path for the whole file.
    ``lines()`` gives the file's line count (it may wait for a probe running beside the parse). A
    file starting with a byte order mark takes the per-line path (which strips it).
    """
    gzipped = is_gzip(path)
    with (gzip.open if gzipped else open)(path, "rb") as fh:
        if fh.read(len(BOM)) == BOM:
            return None
    if _head_foreign(path, gzipped):
        return None
    create(con, "_gl_staged")
    con.execute("ALTER TABLE _gl_staged ADD COLUMN _unfit BOOLEAN")
    con.execute("SET preserve_insertion_order = true")  # line numbers below depend on it
    try:
        con.execute(f"INSERT INTO _gl_staged BY NAME {fast_sql(con)}", [str(path), "gzip" if gzipped else "none"])
    except duckdb.Error:
        return None
    # Line numbers: with preserve_insertion_order (DuckDB's default) an INSERT keeps the reader's
    # order, so a row's position in the new table is its line. (A row_number() window here would
    # push the whole parse through one thread.)
    con.execute("UPDATE _gl_staged SET line_no = rowid + 1")
    rows = con.execute("SELECT count(*) FROM _gl_staged").fetchall()[0][0]
    if rows != lines():
        con.execute("DROP TABLE _gl_staged")
        return None
    doubled = _duplicate_key_lines(con, path, gzipped)
    if doubled is None:
        con.execute("DROP TABLE _gl_staged")
        return None
    if doubled:  # re-staged line by line, where detection names the key
        con.execute("UPDATE _gl_staged SET _unfit = true WHERE list_contains(?, line_no)", [doubled])
    return [r[0] for r in con.execute("SELECT line_no FROM _gl_staged WHERE _unfit ORDER BY line_no").fetchall()]


def _duplicate_key_lines(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool) -> list[int] | None:
    """Line numbers of the file's lines whose top-level object gives a key twice (read_json keeps
    the first value silently; the per-line path quarantines such lines). One parallel pass of the
    lines' keys, grouped by their list of keys (a file holds a few dozen): the usual answer, none,
    costs no per-line list work. Only when a shape has a duplicate are the lines numbered, in a
    second pass. None when the passes do not map 1:1 onto the lines."""
    keyed = KEY_SHAPES_SQL
    # (a key holding chr(1) splits its shape into more parts than keys: counted as suspect too)
    suspect = ("n > 0 AND (len(string_split(shape, chr(1))) <> n "
               "OR len(list_distinct(string_split(shape, chr(1)))) <> n)")
    params = [str(path), "gzip" if gzipped else "none"]
    try:
        # (materialised first: DuckDB would push the test below the DISTINCT, i.e. run it per line)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _gl_shapes AS SELECT DISTINCT shape, n FROM ({keyed})", params)
        bad = [r[0] for r in con.execute(f"SELECT DISTINCT shape FROM _gl_shapes WHERE {suspect}").fetchall()]
        if not bad:
            return []
        con.execute(f"CREATE OR REPLACE TEMP TABLE _gl_shapes AS SELECT list_contains(?, shape) AS doubled FROM ({keyed})",
                    [bad, *params])
        if con.execute("SELECT count(*) FROM _gl_shapes").fetchall()[0][0] != \
                con.execute("SELECT count(*) FROM _gl_staged").fetchall()[0][0]:
            return None
        return [r[0] for r in con.execute("SELECT rowid + 1 FROM _gl_shapes WHERE doubled").fetchall()]
    except duckdb.Error:
        return None
    finally:
        con.execute("DROP TABLE IF EXISTS _gl_shapes")
