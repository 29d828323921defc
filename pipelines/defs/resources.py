"""Resources: the warehouse, declared once, and how every step uses it.

* ``duckdb`` — a :class:`Warehouse` on ``GATEWAYLENS_DB`` (read when a step connects); its connections come from
  :func:`gatewaylens.db.connect` (the one way to open the warehouse: UTC session, base tables in
  place, a lock held by another process retried by the one lock-retry policy).
* :func:`with_warehouse` — runs a step's work on a write connection. A lock or write-conflict
  error raised during the work is retried with the same policy (:func:`gatewaylens.db.retry_on_lock`)
  — every step's work is idempotent (delete + insert of its days, file-level transactions). A lock
  that does not go away, or any other DuckDB error, fails the run with a message that says what to do.
* DuckDB file: runs use the in-process executor: one process (one DuckDB writer) per run, steps
  in order. Lake (``GATEWAYLENS_STORAGE=lake``): the multiprocess executor (:func:`executor`).
  Across runs, every asset and check is in the ``gatewaylens_warehouse`` pool; with the instance
  config the Makefile writes (``concurrency.pools.granularity: run``, ``default_limit: 1``) only
  one run that writes the warehouse is in progress at a time.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import dagster as dg
import duckdb
try:
    from dagster_pyspark import LazyPySparkResource
except ImportError:  # installed without the 'spark' extra: the DuckDB engine needs none of it
    LazyPySparkResource = None

from gatewaylens import storage
from gatewaylens.engines import spark as spark_engine
from gatewaylens.config import settings
from gatewaylens.db import WarehouseLockedError, connect, retry_on_lock

POOL = "gatewaylens_warehouse"

T = TypeVar("T")


class Warehouse(dg.ConfigurableResource):
    """The warehouse: the DuckDB file (default ``settings().db``), or with
    ``GATEWAYLENS_STORAGE=lake`` an in-memory DuckDB with views over the lake
    (:func:`gatewaylens.storage.connect`)."""

    database: str = ""

    @property
    def path(self) -> str:
        cfg = settings()
        return cfg.lake if cfg.storage == "lake" else (self.database or str(cfg.db))

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cfg = settings()
        con = connect(self.path) if cfg.storage == "duckdb" else storage.connect(cfg)
        try:
            yield con
        finally:
            con.close()


def warehouse_resource() -> Warehouse:
    """The warehouse of the current settings (resolved at connect time, so env changes apply)."""
    return Warehouse()


def with_warehouse(
    context: dg.OpExecutionContext,
    resource: Warehouse,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    what: str,
    retries: int | None = None,
    base_delay: float | None = None,
) -> T:
    """Run ``work(con)`` on a warehouse write connection, retrying lock errors with backoff."""

    def attempt() -> T:
        with resource.get_connection() as con:
            return work(con)

    def log(attempt_no: int, delay: float, exc: BaseException) -> None:
        context.log.warning(f"{what}: warehouse busy ({exc}); retry {attempt_no + 1} in {delay:.1f} s")

    try:
        return retry_on_lock(attempt, what=what, retries=retries, base_delay=base_delay, on_retry=log)
    except WarehouseLockedError as exc:
        raise dg.Failure(
            description=(
                f"{resource.path} stayed locked by another process while running {what}. Another Dagster "
                "run, `gatewaylens ingest/build`, or a DuckDB session opened it for writing: wait for it to "
                f"finish (or close it), then re-run this partition — re-runs are idempotent. {exc}"
            )
        ) from exc
    except duckdb.Error as exc:
        raise dg.Failure(
            description=(
                f"{what} failed on {resource.path}: {exc}. Fix the cause (disk full? a file "
                "edited by hand? an incompatible DuckDB version?), then re-run this partition — "
                "re-runs are idempotent. If the file is damaged, delete it and re-materialize "
                "everything: the landing folder holds all the data."
            )
        ) from exc


class SparkExtraMissing(dg.ConfigurableResource):
    """Stands in for dagster-pyspark's resource when the 'spark' extra is not installed: the
    DuckDB engine never touches it; GATEWAYLENS_ENGINE=spark fails with what to install."""

    spark_config: dict = {}

    @property
    def spark_session(self):
        raise RuntimeError(spark_engine.MISSING)


SparkResource = LazyPySparkResource if LazyPySparkResource is not None else SparkExtraMissing


def spark_resource() -> "SparkResource":
    """``pyspark``: dagster-pyspark's session resource, configured by :func:`gatewaylens.engines.spark.spark_conf`
    from GATEWAYLENS_SPARK_MASTER / GATEWAYLENS_SPARK_CONF. The lazy variant of PySparkResource:
    the session (a JVM) starts only when a step of the Spark engine asks for it, never with DuckDB."""
    cfg = settings()
    return SparkResource(spark_config=spark_engine.spark_conf(cfg.spark_master, cfg.spark_conf))


def spark_session(resource: "SparkResource"):
    """The run's SparkSession when GATEWAYLENS_ENGINE=spark, else None (nothing started)."""
    if settings().engine != "spark":
        return None
    return spark_engine.prepare(resource.spark_session, resource.spark_config)


def executor() -> dg.ExecutorDefinition:
    """DuckDB file: in-process (one writer process). Lake: each file has one writer (a source's
    ingest, a mart's day), so steps may run in parallel processes (multiprocess executor locally;
    dagster-k8s's k8s_job_executor in production — see docs/deployment.md). Spark engine:
    in-process — one driver holds the session and Spark spreads each step over its executors
    (a process per step would start a driver per step)."""
    cfg = settings()
    if cfg.storage == "lake" and cfg.engine != "spark":
        return dg.multiprocess_executor
    return dg.in_process_executor


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"duckdb": warehouse_resource(), "pyspark": spark_resource()}, executor=executor())
