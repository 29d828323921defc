"""Resources: the warehouse, declared once, and how every step uses it.

* ``duckdb`` — a :class:`DuckDBResource` on ``GATEWAYLENS_DB`` (its connect retries a lock held
  by another process with backoff).
* :func:`with_warehouse` — runs a step's work on a write connection. A lock held at connect is
  retried by DuckDBResource (exponential backoff, ~100 s in all); a lock or write-conflict error
  raised *later*, during the work, is retried here with backoff — every step's work is idempotent
  (delete + insert of its days, file-level transactions). A lock that does not go away, or any
  other DuckDB error, fails the run with a message that says what to do.
* Runs use the in-process executor: one process (one DuckDB writer) per run, steps in order.
  Across runs, every asset and check is in the ``gatewaylens_warehouse`` pool; with the instance
  config the Makefile writes (``concurrency.pools.granularity: run``, ``default_limit: 1``) only
  one run that writes the warehouse is in progress at a time.
"""

from collections.abc import Callable, Iterator
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from gatewaylens.db import WarehouseLockedError, ensure_schema

DEFAULT_DB = "data/gatewaylens.duckdb"
POOL = "gatewaylens_warehouse"
LOCK_RETRIES = 5
LOCK_BASE_DELAY_S = 1.0

T = TypeVar("T")


def warehouse_resource() -> DuckDBResource:
    return DuckDBResource(database=dg.EnvVar("GATEWAYLENS_DB").get_value(DEFAULT_DB) or DEFAULT_DB)


@contextmanager
def warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection with UTC session time zone and the base tables in place."""
    Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    with resource.get_connection() as con:
        con.execute("SET TimeZone = 'UTC'")
        ensure_schema(con)
        yield con


def is_lock_error(exc: BaseException) -> bool:
    """A DuckDB error that goes away when the other writer finishes: a file lock held by another
    process, or a write-write conflict between transactions."""
    msg = str(exc).lower()
    if isinstance(exc, duckdb.TransactionException) and "conflict" in msg:
        return True
    return isinstance(exc, (duckdb.IOException, RuntimeError)) and "lock" in msg


def with_warehouse(
    context: dg.OpExecutionContext,
    resource: DuckDBResource,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    what: str,
    retries: int = LOCK_RETRIES,
    base_delay: float = LOCK_BASE_DELAY_S,
) -> T:
    """Run ``work(con)`` on a warehouse write connection, retrying lock errors with backoff."""
    delay = base_delay
    for attempt in range(retries + 1):
        connected = False
        try:
            with warehouse(resource) as con:
                connected = True
                return work(con)
        except duckdb.Error as exc:
            # At connect, DuckDBResource has already retried a held lock with backoff (~100 s).
            if is_lock_error(exc) and connected and attempt < retries:
                context.log.warning(
                    f"{what}: warehouse busy ({exc}); retry {attempt + 1}/{retries} in {delay:.1f} s"
                )
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if is_lock_error(exc):
                locked = WarehouseLockedError(
                    f"{resource.database} stayed locked by another process while running {what}. "
                    "Another Dagster run, `gatewaylens ingest/build`, or a DuckDB session opened it for "
                    "writing: wait for it to finish (or close it), then re-run this partition — re-runs "
                    f"are idempotent. DuckDB said: {exc}"
                )
                raise dg.Failure(description=str(locked)) from exc
            raise dg.Failure(
                description=(
                    f"{what} failed on {resource.database}: {exc}. Fix the cause (disk full? a file "
                    "edited by hand? an incompatible DuckDB version?), then re-run this partition — "
                    "re-runs are idempotent. If the file is damaged, delete it and re-materialize "
                    "everything: the landing folder holds all the data."
                )
            ) from exc
    raise AssertionError("unreachable")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"duckdb": warehouse_resource()}, executor=dg.in_process_executor)
