"""Stages 4 and 5, *dedupe* and *load*: new rows into requests / provider_attempts, rejected
records into quarantine, one row per file into ingested_files. Every column list comes from
the row contract (schema.TABLES); a staged row is good when ``reason IS NULL AND NOT merged``
(its reason was computed once, by the check stage).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from gatewaylens import formats, identity, prices, schema
from gatewaylens.ingest.check import status_sql
from gatewaylens.ingest.quarantine import Collector, row_text
from gatewaylens.redact import clean

GOOD = "reason IS NULL AND NOT merged"
FILE_SHIFT = 32
assert formats.otel.FILE_SHIFT == FILE_SHIFT  # OTel spans match within one file of a batch
_MASK = (1 << FILE_SHIFT) - 1

# Normalised values, shared by every format: requests columns that ingest derives from the
# staged row (the others are taken from it by name: schema.REQUESTS columns with staged=True).
_FINISH = "('stop', 'tool_calls', 'length', 'content_filter', 'error', 'other')"
_PROVIDER = "coalesce(c.provider, c.attempt_list[-1].provider)"
DERIVED: dict[str, str] = {
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
    "status": status_sql("c."),
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
AT_LOAD = ("source_file", "line_no", "ingested_at")
REQUEST_COLUMNS = [c.name for c in schema.REQUESTS.columns if c.name not in AT_LOAD]
for _col in REQUEST_COLUMNS:  # every column is derived or staged: checked at import
    if _col not in DERIVED and not schema.REQUESTS.column(_col).staged:
        raise AssertionError(f"requests.{_col} is neither staged nor derived in ingest.load.DERIVED")
NORMALISE = f"""
    SELECT c.line_no, c.record_no, {", ".join(f"{DERIVED.get(n, 'c.' + n)} AS {n}" for n in REQUEST_COLUMNS)}
    FROM _gl_staged c
    LEFT JOIN (SELECT model_raw AS id_raw, model AS id_model FROM _gl_model_map) mm ON mm.id_raw = c.model
    LEFT JOIN (SELECT model_raw AS id_raw, model AS id_model FROM _gl_model_map) mq ON mq.id_raw = c.model_requested
    LEFT JOIN _gl_prices p ON {prices.join_sql("p", "c.model", _PROVIDER, "c.ts", "coalesce(c.input_tokens, 0)")}
    WHERE c.reason IS NULL AND NOT c.merged
"""


def register_identity(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables _gl_model_map (slug of each distinct raw model id, served or requested) and
    _gl_prices (price rows of each distinct raw id x provider) for the staged batch: Python runs
    once per distinct id, the per-row work is the joins in NORMALISE."""
    identity.register_model_map(con, f"SELECT model FROM _gl_staged WHERE {GOOD} "
                                     f"UNION SELECT model_requested FROM _gl_staged WHERE {GOOD}")
    prices.register_price_table(con, f"SELECT DISTINCT c.model, {_PROVIDER} FROM _gl_staged c "
                                     "WHERE c.reason IS NULL AND NOT c.merged")
_TABLES = ("_gl_staged", "_gl_chunk")


_ALL = (0, (1 << 63) - 1)


def count_rows(con: duckdb.DuckDBPyConnection, table: str, per_file: list[list[int]],
               span: tuple[int, int] = _ALL) -> dict[int, int]:
    """Add each file's good, merged and extra-record counts of ``table`` (its rows whose line_no
    is within ``span``) to ``per_file``; return {file number: rejected records} (files with some)."""
    if table not in _TABLES:
        raise ValueError(table)
    bad: dict[int, int] = {}
    for f, good, merged, extra, rejected in con.execute(
        f"""SELECT line_no >> {FILE_SHIFT}, count(*) FILTER (WHERE {GOOD}), count(*) FILTER (WHERE merged),
                   count(*) FILTER (WHERE record_no > 0), count(*) FILTER (WHERE reason IS NOT NULL AND NOT merged)
            FROM {table} WHERE line_no BETWEEN ? AND ? GROUP BY ALL""", list(span)
    ).fetchall():
        acc = per_file[int(f)]
        acc[0] += int(good)
        acc[1] += int(merged)
        acc[2] += int(extra)
        if rejected:
            bad[int(f)] = int(rejected)
    return bad


def bad_rows(con: duckdb.DuckDBPyConnection, table: str, lines: int, where: str = "true",
             span: tuple[int, int] = _ALL) -> dict[int, list[tuple]]:
    """The first ``lines`` rejected lines of ``table`` (one file; rows whose line_no is within
    ``span``): {staged line_no: [(reason, source_format, record_no, records in its line,
    request_id), ...]}."""
    if table not in _TABLES or where not in ("true", "NOT _unfit"):
        raise ValueError(table)
    out: dict[int, list[tuple]] = {}
    if lines <= 0:
        return out
    for ln, reason, sf, rec, n, rid in con.execute(
        f"""WITH bad AS (
                SELECT line_no, reason, source_format, record_no, request_id
                FROM (SELECT *, dense_rank() OVER (ORDER BY line_no) AS r
                      FROM {table} WHERE reason IS NOT NULL AND NOT merged AND {where} AND line_no BETWEEN ? AND ?)
                WHERE r <= ?),
            n AS (SELECT line_no, count(*) AS n FROM {table} WHERE line_no IN (SELECT line_no FROM bad) GROUP BY ALL)
            SELECT line_no, reason, source_format, record_no, n, request_id FROM bad JOIN n USING (line_no)
            ORDER BY line_no, record_no""",
        [*span, lines],
    ).fetchall():
        out.setdefault(int(ln), []).append((reason, sf, rec, n, rid))
    return out


def add_text(quarantine: Collector, k: int, line_no: int, text: str, records: list[tuple]) -> None:
    """Quarantine rows of one rejected line (one per rejected record of it), with its text."""
    text = (text or "").rstrip("\r\n")
    for reason, sf, rec, n, rid in records:
        raw, final_reason, detail = row_text(text, reason, sf, explained=n == 1)
        if n > 1 and final_reason == reason:
            detail = f"record {rec + 1} of the {n} in this line: " + (clean(rid, 128) if rid else "no id")
        quarantine.add(k, line_no, raw, final_reason, detail, sf)


def load(con: duckdb.DuckDBPyConnection, paths: list[str], now: dt.datetime, *, multi: bool) -> dict[int, int]:
    """Dedupe and insert the good rows of _gl_staged into requests and provider_attempts (inside
    the caller's transaction). Returns {file number: new rows}."""
    shift = FILE_SHIFT
    # New rows = good rows minus duplicates: a request_id repeated in the input (first occurrence
    # wins, in file, line and record order) or already stored. Only lines holding several records
    # (multi) need record_no to tell their rows apart.
    first = "min({'line_no': line_no, 'record_no': record_no}) AS k" if multi else "min(line_no) AS line_no"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _gl_new AS
            SELECT {"k.line_no, k.record_no FROM (SELECT " if multi else ""}{first} FROM _gl_staged
            WHERE {GOOD}
            GROUP BY request_id
            HAVING request_id NOT IN (SELECT request_id FROM requests){")" if multi else ""}"""
    )
    new_per_file = dict(con.execute(f"SELECT line_no >> {shift}, count(*) FROM _gl_new GROUP BY ALL").fetchall())
    good = con.execute(f"SELECT count(*) FROM _gl_staged WHERE {GOOD}").fetchall()[0][0]
    # Usually every good row is new (no duplicates): then the good-row test stands in for the
    # semi-join against _gl_new, which costs about a third of the inserts.
    if sum(new_per_file.values()) == good:
        is_new = GOOD
    elif multi:
        is_new = "(line_no, record_no) IN (SELECT line_no, record_no FROM _gl_new)"
    else:
        is_new = "line_no IN (SELECT line_no FROM _gl_new)"
    con.execute(
        f"""INSERT INTO requests ({", ".join(REQUEST_COLUMNS)}, {", ".join(AT_LOAD)})
            SELECT {", ".join(REQUEST_COLUMNS)},
                   list_extract(?, CAST((line_no >> {shift}) + 1 AS BIGINT)), line_no & {(1 << shift) - 1}, ?
            FROM ({NORMALISE}){"" if is_new == GOOD else " WHERE " + is_new}""",
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
    return {int(k): int(v) for k, v in new_per_file.items()}


def insert_quarantine(con: duckdb.DuckDBPyConnection, paths: list[str], rows: list[tuple], chunk: int = 256) -> None:
    """Replace the quarantine rows of ``paths`` (a changed file is re-read whole) by ``rows``
    (tuples in the column order of schema.QUARANTINE), in multi-row VALUES inserts (executemany
    is slow on a connection with registered Arrow data)."""
    if paths:
        con.execute("DELETE FROM quarantine WHERE list_contains(?, source_file)", [paths])
    marks = "(" + ", ".join("?" * len(schema.QUARANTINE.columns)) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(
            f"INSERT INTO quarantine {schema.insert_columns('quarantine')} VALUES " + ", ".join([marks] * len(part)),
            [value for row in part for value in row],
        )


def record_file(con: duckdb.DuckDBPyConnection, r, at: dt.datetime) -> None:
    """One row of ingested_files (the FileResult attribute of each column)."""
    names = schema.INGESTED_FILES.names()
    values = {"ingested_at": at, **{n: getattr(r, n) for n in names if n != "ingested_at"}}
    con.execute(
        f"INSERT INTO ingested_files {schema.insert_columns('ingested_files')} VALUES ({', '.join('?' * len(names))})",
        [values[n] for n in names],
    )


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # the failure happened before BEGIN
