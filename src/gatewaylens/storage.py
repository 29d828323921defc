"""The storage seam: the same four operations on the DuckDB file or on the Parquet lake.

``GATEWAYLENS_STORAGE`` picks the implementation; the Dagster assets, the CLI and the tests call
only these functions:

* :func:`connect` — the one way to open the warehouse: the DuckDB file for writing
  (:func:`gatewaylens.db.connect`), or an in-memory DuckDB with views over the lake
  (:func:`gatewaylens.lake.connect`). Checks and previews read through it in both modes.
* :func:`ingest_days` — ingest each landing day's files (the lake writes one source per day).
* :func:`build_mart` — (re)build a mart for a day range (DELETE+INSERT / partition overwrite).
* :func:`publish` — the serving snapshot for the run's days (O(day) in both modes).

With ``GATEWAYLENS_ENGINE=spark`` (lake only) ingest and mart builds run on Spark
(:mod:`gatewaylens.engines.spark`); pass the run's SparkSession as ``spark`` (Dagster's
``pyspark`` resource), else one is created from the settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb

from gatewaylens import lake as lakemod
from gatewaylens import marts, serving
from gatewaylens.config import Settings, settings
from gatewaylens.db import connect as connect_file


def _lake(cfg: Settings) -> lakemod.Lake | None:
    return lakemod.Lake(cfg.lake) if cfg.storage == "lake" else None


def connect(cfg: Settings | None = None) -> duckdb.DuckDBPyConnection:
    cfg = cfg or settings()
    lake = _lake(cfg)
    return lakemod.connect(lake) if lake else connect_file(cfg.db)


def ingest_days(
    con: duckdb.DuckDBPyConnection,
    files_by_day: dict[dt.date, list[Path]],
    *,
    salt: str,
    on_file: Callable | None = None,
    cfg: Settings | None = None,
    spark=None,
) -> list:
    """Ingest the files of each landing day; returns the ingest.FileResult of every file."""
    from gatewaylens.ingest import ingest_files

    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is None:
        files = [f for day in sorted(files_by_day) for f in files_by_day[day]]
        return ingest_files(con, files, salt=salt, on_file=on_file)
    if cfg.engine == "spark":
        from gatewaylens.engines import spark as spark_engine

        results = spark_engine.ingest_days(spark or spark_engine.session_for(cfg), lake, files_by_day, salt=salt)
        for res in results if on_file is not None else ():
            on_file(res)
        for table in lakemod.BASE_TABLES:
            lakemod.refresh_view(con, lake, table)
        return results
    results = []
    for day in sorted(files_by_day):
        results += lakemod.ingest_source(day.isoformat(), files_by_day[day], salt=salt, lake=lake, on_file=on_file).files
    for table in lakemod.BASE_TABLES:
        lakemod.refresh_view(con, lake, table)
    return results


def build_mart(con: duckdb.DuckDBPyConnection, name: str, start_day: dt.date, end_day: dt.date | None = None,
               cfg: Settings | None = None, spark=None) -> marts.MartResult:
    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is None:
        return marts.build_mart(con, name, start_day, end_day, cfg.marts)
    if cfg.engine == "spark":
        from gatewaylens.engines import spark as spark_engine

        result = spark_engine.build_mart(spark or spark_engine.session_for(cfg), lake, name, start_day, end_day, cfg.marts)
        lakemod.refresh_view(con, lake, name)
        return result
    return lakemod.build_mart(con, name, start_day, end_day, cfg.marts, lake=lake)


def publish(con: duckdb.DuckDBPyConnection, days: tuple[dt.date, dt.date] | None,
            cfg: Settings | None = None) -> serving.PublishResult:
    cfg = cfg or settings()
    return serving.publish_snapshot(con, cfg.serving_path, days=days, lake=_lake(cfg))
