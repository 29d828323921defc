"""Read-only data access for the views: short-lived connections to the serving snapshot.

Every query is parameterised; views never build SQL from user input.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from gatewaylens.config import settings
from gatewaylens.db import connect_readonly

NO_DATA = "No data yet — run `make demo` or wait for the nightly run."


def database_path() -> Path:
    """The file the dashboard reads: the serving snapshot when published, else the warehouse."""
    cfg = settings()
    if cfg.serving_path.exists():
        return cfg.serving_path
    return cfg.db


def query(sql: str, params: dict | list | None = None) -> pl.DataFrame:
    """Run one read-only query and return a polars frame (cached for 60 s)."""
    path = database_path()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _cached_query(str(path), mtime, sql, _freeze(params))


def _freeze(params: dict | list | None):
    if params is None:
        return None
    if isinstance(params, dict):
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return tuple(tuple(v) if isinstance(v, list) else v for v in params)


@st.cache_data(ttl=60, show_spinner=False)
def _cached_query(path: str, mtime: int, sql: str, params) -> pl.DataFrame:
    if params is not None and isinstance(params, tuple) and params and isinstance(params[0], tuple) and len(params[0]) == 2 and isinstance(params[0][0], str):
        bound: dict | list | None = {k: list(v) if isinstance(v, tuple) else v for k, v in params}
    else:
        bound = [list(v) if isinstance(v, tuple) else v for v in params] if params else None
    con = connect_readonly(path)
    try:
        return con.sql(sql, params=bound).pl() if bound else con.sql(sql).pl()
    finally:
        con.close()


def has_table(name: str) -> bool:
    path = database_path()
    if not path.exists():
        return False
    try:
        frame = query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $name", {"name": name})
    except (duckdb.Error, FileNotFoundError):
        return False
    return bool(frame["n"][0])
