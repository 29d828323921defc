"""Metric marts: one ``sql/<name>.sql`` file per table, built per UTC day.

Each mart file is runnable as-is in the DuckDB CLI once the day range is bound::

    SET VARIABLE start_day = DATE '2026-01-15';
    SET VARIABLE end_day = DATE '2026-01-15';
    .read src/gatewaylens/sql/tool_call_rate_daily.sql

A file creates its table if missing, deletes the rows of the bound days and inserts them again
from ``requests`` / ``provider_attempts`` — so a build touches only its days (O(day)) and
re-running it is idempotent. The CLI (``gatewaylens build``) and the Dagster assets both call
:func:`build_mart`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import duckdb

from gatewaylens.db import sql_text

# Marts in dependency order (a mart may read marts listed before it).
MARTS: list[str] = [
    "tool_call_rate_daily",
]


@dataclass
class MartResult:
    name: str
    start_day: dt.date
    end_day: dt.date
    rows: int
    seconds: float


def split_statements(text: str) -> list[str]:
    """Split a SQL file on ';' at line ends (our files keep one statement per ';\\n')."""
    parts, current = [], []
    for line in text.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt.strip(";").strip():
                parts.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        parts.append(tail)
    return parts


def bind_days(con: duckdb.DuckDBPyConnection, start_day: dt.date, end_day: dt.date) -> None:
    con.execute("SET VARIABLE start_day = CAST(? AS DATE)", [start_day])
    con.execute("SET VARIABLE end_day = CAST(? AS DATE)", [end_day])


def build_mart(
    con: duckdb.DuckDBPyConnection, name: str, start_day: dt.date, end_day: dt.date | None = None
) -> MartResult:
    """(Re)build mart ``name`` for the days start_day..end_day (inclusive) in one transaction."""
    if name not in MARTS:
        raise ValueError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    end_day = end_day or start_day
    started = time.perf_counter()
    bind_days(con, start_day, end_day)
    con.execute("BEGIN TRANSACTION")
    try:
        for stmt in split_statements(sql_text(f"{name}.sql")):
            con.execute(stmt)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute(
        f"SELECT count(*) FROM {name} WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')"
    ).fetchall()[0][0]
    return MartResult(name, start_day, end_day, int(rows), time.perf_counter() - started)


def build_all(con: duckdb.DuckDBPyConnection, start_day: dt.date, end_day: dt.date | None = None) -> list[MartResult]:
    return [build_mart(con, name, start_day, end_day) for name in MARTS]


def days_with_requests(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [r[0] for r in con.execute("SELECT DISTINCT day FROM requests ORDER BY day").fetchall()]
