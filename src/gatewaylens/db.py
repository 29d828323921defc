"""DuckDB connections: the single place that opens the warehouse.

* :func:`connect` opens the warehouse for writing (the pipeline, the CLI's ingest/build) and
  makes sure the base tables exist. Lock errors from a concurrent writer are retried with
  backoff; a lock that does not go away becomes a :class:`WarehouseLockedError` that says
  what to do.
* :func:`connect_readonly` opens a file read-only (the dashboard, ``gatewaylens sql``).
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import duckdb


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB write lock for longer than we were willing to wait."""


def sql_text(name: str) -> str:
    """Text of a packaged SQL file, e.g. ``sql_text("ddl.sql")``."""
    return resources.files("gatewaylens").joinpath("sql", name).read_text()


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "lock" in msg and ("conflicting" in msg or "could not set lock" in msg or "locked" in msg)


def _open(path: Path, read_only: bool, retries: int, base_delay: float) -> duckdb.DuckDBPyConnection:
    delay = base_delay
    for attempt in range(retries + 1):
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")  # days and hours are UTC whatever the machine's zone
            return con
        except duckdb.IOException as exc:  # lock held by another process
            if not _is_lock_error(exc) or attempt == retries:
                if _is_lock_error(exc):
                    raise WarehouseLockedError(
                        f"{path} is locked by another process (a Dagster run or another ingest?). "
                        "Wait for it to finish, or point GATEWAYLENS_DB / --db at another file. "
                        f"DuckDB said: {exc}"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")


def connect(path: str | Path, *, retries: int = 8, base_delay: float = 0.1) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing and ensure the base tables exist."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only=False, retries=retries, base_delay=base_delay)
    ensure_schema(con)
    return con


def require_file(path: str | Path) -> Path:
    """``path`` as a Path; FileNotFoundError with advice when there is no database there."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"no database at {path}: run `make demo`, or `gatewaylens ingest` + `gatewaylens build`, "
            "or wait for the nightly run"
        )
    return path


def connect_readonly(path: str | Path, *, retries: int = 8, base_delay: float = 0.05) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file read-only. Raises FileNotFoundError with advice when it does not exist."""
    return _open(require_file(path), read_only=True, retries=retries, base_delay=base_delay)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("ddl.sql"))
