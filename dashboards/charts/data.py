"""Read-only data access for the views: short-lived connections, cached results.

* The file read is the serving snapshot (``config.settings().serving_path``) when it has been
  published, else the warehouse itself (opened read-only).
* Every query opens a fresh read-only connection, fetches to the end and closes it; results are
  cached for a few minutes keyed by (file, its mtime, SQL text, bind parameters), so a new
  snapshot is picked up as soon as it is published. No long-lived connection is ever cached.
* SQL text comes from the views (fixed strings); filter values are bind parameters only.
* DuckDB keeps one database instance per file per process, shared by every connection opened
  here; nothing in this process may change its settings. The SQL console therefore never opens
  the file in the dashboard's process: its queries run in worker processes
  (:func:`gatewaylens.sqlguard.run_guarded`), so they can neither lock these connections'
  configuration nor take their memory.
* A missing database, a missing table or a locked warehouse raises :class:`DataUnavailable`,
  which the router turns into the friendly "no data yet" state.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from gatewaylens.config import settings
from gatewaylens.db import WarehouseLockedError, connect_readonly

NO_DATA = "No data yet — run `make demo` or wait for the nightly run."
CACHE_TTL_S = 300


class DataUnavailable(RuntimeError):
    """The data a page needs is not there (yet); ``str(exc)`` says what is missing."""


def database_path() -> Path:
    """The file the dashboard reads: the serving snapshot when published, else the warehouse."""
    cfg = settings()
    if cfg.serving_path.exists():
        return cfg.serving_path
    return cfg.db


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _freeze(params: dict | None) -> tuple | None:
    if not params:
        return None
    return tuple(sorted((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in params.items()))


def _thaw(params: tuple | None) -> dict | None:
    if params is None:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params}


def _open(path: str) -> duckdb.DuckDBPyConnection:
    try:
        return connect_readonly(path)
    except FileNotFoundError:
        raise DataUnavailable(NO_DATA) from None
    except WarehouseLockedError:
        raise DataUnavailable(
            "The warehouse is busy (a pipeline run is writing it and no serving snapshot is published yet). "
            "Reload in a minute."
        ) from None


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _cached_query(path: str, mtime: int, sql: str, params: tuple | None) -> pl.DataFrame:
    con = _open(path)
    try:
        bound = _thaw(params)
        return con.sql(sql, params=bound).pl() if bound else con.sql(sql).pl()
    finally:
        con.close()


def query(sql: str, params: dict | None = None) -> pl.DataFrame:
    """Run one read-only query (fixed SQL text + bind parameters) and return a polars frame."""
    path = database_path()
    if not path.exists():
        raise DataUnavailable(NO_DATA)
    return _cached_query(str(path), _mtime(path), sql, _freeze(params))


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached_tables(path: str, mtime: int) -> frozenset[str]:
    con = _open(path)
    try:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
        return frozenset(r[0] for r in rows)
    finally:
        con.close()


def tables() -> frozenset[str]:
    """Names of the tables and views in the file the dashboard reads (empty when there is none)."""
    path = database_path()
    if not path.exists():
        return frozenset()
    try:
        return _cached_tables(str(path), _mtime(path))
    except DataUnavailable:
        return frozenset()


def has_table(name: str) -> bool:
    return name in tables()


def require(*names: str) -> None:
    """Raise :class:`DataUnavailable` naming the tables that are not there."""
    present = tables()
    missing = [n for n in names if n not in present]
    if not present:
        raise DataUnavailable(NO_DATA)
    if missing:
        raise DataUnavailable(
            f"{NO_DATA} (missing table{'s' if len(missing) > 1 else ''}: {', '.join(missing)} — "
            "the marts have not been built into this database yet)"
        )
