"""DuckDB connections: the single place that opens the warehouse, with one lock-retry policy.

* :func:`connect` opens the warehouse file for writing (the pipeline, the CLI's ingest/build) and
  makes sure the base tables exist.
* :func:`connect_readonly` opens a file read-only (the dashboard, ``gatewaylens sql``).
* :func:`retry_on_lock` is the one lock-retry policy: a DuckDB error that goes away when the
  other writer finishes (a file lock held by another process, a write-write conflict) is retried
  with exponential backoff (``GATEWAYLENS_LOCK_RETRIES``, ``GATEWAYLENS_LOCK_BASE_DELAY_S``,
  waits capped at :data:`MAX_DELAY_S`); a lock that does not go away becomes a
  :class:`WarehouseLockedError` that says what to do. Opening a file and the Dagster steps'
  work (``pipelines/defs/resources.py``) both use it.

Every connection has ``TimeZone = 'UTC'``: days and hours are UTC whatever the machine's zone.
In ``lake`` storage mode the warehouse is the Parquet lake; :func:`gatewaylens.lake.connect_lake`
opens a DuckDB connection with views over it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from gatewaylens.config import settings

T = TypeVar("T")
MAX_DELAY_S = 5.0


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB write lock for longer than we were willing to wait."""


def sql_text(name: str) -> str:
    """Text of a packaged SQL file, e.g. ``sql_text("views.sql")``."""
    return resources.files("gatewaylens").joinpath("sql", name).read_text()


def is_lock_error(exc: BaseException) -> bool:
    """A DuckDB error that goes away when the other writer finishes: a file lock held by another
    process, or a write-write conflict between transactions."""
    msg = str(exc).lower()
    if isinstance(exc, duckdb.TransactionException) and "conflict" in msg:
        return True
    return isinstance(exc, (duckdb.IOException, RuntimeError)) and "lock" in msg


def retry_on_lock(
    work: Callable[[], T],
    *,
    what: str,
    retries: int | None = None,
    base_delay: float | None = None,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> T:
    """``work()``, retried with exponential backoff while it fails on a lock (:func:`is_lock_error`).

    ``retries`` / ``base_delay`` default to the settings. ``on_retry(attempt, delay, exc)`` is
    called before each wait (Dagster logs it). When the lock does not go away, raises
    :class:`WarehouseLockedError` naming ``what``; any other error propagates unchanged.
    """
    cfg = settings()
    # Default: retry for lock_wait_s seconds (a second writer waits for the first one), at least
    # lock_retries times; explicit ``retries``: exactly that many.
    deadline = time.monotonic() + cfg.lock_wait_s if retries is None else None
    retries = cfg.lock_retries if retries is None else retries
    delay = cfg.lock_base_delay_s if base_delay is None else base_delay
    attempt = 0
    while True:
        try:
            return work()
        except (duckdb.Error, RuntimeError) as exc:
            if not is_lock_error(exc) or isinstance(exc, WarehouseLockedError):
                raise
            if attempt >= retries and (deadline is None or time.monotonic() >= deadline):
                raise WarehouseLockedError(
                    f"{what}: the warehouse stayed locked by another process (a Dagster run, "
                    "`gatewaylens ingest/build`, or a DuckDB session opened it for writing). Wait for it to "
                    "finish (or close it), or point GATEWAYLENS_DB / --db at another file; re-runs are "
                    f"idempotent. DuckDB said: {exc}"
                ) from exc
            if on_retry is not None:
                on_retry(attempt, delay, exc)
            if deadline is not None:
                delay = max(min(delay, deadline - time.monotonic()), 0.01)
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
            attempt += 1


def _open(path: Path, read_only: bool, retries: int | None, base_delay: float | None) -> duckdb.DuckDBPyConnection:
    def attempt() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        return con

    return retry_on_lock(attempt, what=f"open {path}", retries=retries, base_delay=base_delay)


def connect(
    path: str | Path | None = None, *, retries: int | None = None, base_delay: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (default ``settings().db``) for writing; ensure the base tables exist."""
    path = Path(path or settings().db)
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


def connect_readonly(
    path: str | Path, *, retries: int | None = None, base_delay: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file read-only. Raises FileNotFoundError with advice when it does not exist."""
    return _open(require_file(path), read_only=True, retries=retries, base_delay=base_delay)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the base tables, or migrate older warehouses (DDL generated from schema.TABLES)."""
    from gatewaylens.schema import TABLES, ddl, migration_sql

    con.execute(ddl())
    existing: dict[str, dict[str, bool]] = {}
    for table, column, nullable in con.execute(
        "SELECT table_name, column_name, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'main' AND list_contains(?, table_name)", [list(TABLES)]
    ).fetchall():
        existing.setdefault(table, {})[column] = nullable
    for statement in migration_sql(existing):
        con.execute(statement)
