"""The Spark engine (``GATEWAYLENS_ENGINE=spark``, needs ``GATEWAYLENS_STORAGE=lake``).

Spark does the heavy lifting over the Parquet lake; the marts keep their one DuckDB definition,
translated by :mod:`gatewaylens.engines.sparksql`. What runs where:

* **session** — :func:`spark_conf` is the one place Spark's configuration is assembled (master from
  ``GATEWAYLENS_SPARK_MASTER``, extra ``spark.*`` keys from ``GATEWAYLENS_SPARK_CONF``, the
  project's defaults: UTC session time zone, no UI); Dagster hands it to ``dagster-pyspark``'s
  ``PySparkResource``, the CLI and tests to :func:`session`.
* **marts** — :func:`mart_rows` runs a mart's translated SELECT on the executors over the lake's
  tables, collects the (small, aggregated) result to the driver as Arrow and runs the mart's
  Python post-processing step there (the statistics of ``provider_variance``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache

import duckdb
import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.schema import MappingSchema

from gatewaylens.config import MartSettings
from gatewaylens.engines import sparksql

# Defaults the engine needs for DuckDB-equal results and a quiet, small footprint; a key set in
# GATEWAYLENS_SPARK_CONF wins, except the time zone (days and hours are UTC everywhere).
SPARK_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
SPARK_FIXED: dict[str, str] = {"spark.sql.session.timeZone": "UTC"}
UTC_JAVA_OPTION = "-Duser.timezone=UTC"


def spark_conf(master: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark configuration of a run: defaults, then ``extra``, then the fixed UTC keys."""
    conf = {**SPARK_DEFAULTS, "spark.master": master, "spark.app.name": "gatewaylens"}
    conf.update({k: str(v) for k, v in (extra or {}).items()})
    conf.update(SPARK_FIXED)
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        conf[key] = f"{conf.get(key, '')} {UTC_JAVA_OPTION}".strip()
    return conf


def session(conf: Mapping[str, str]):
    """A SparkSession with ``conf`` (or the running one: Spark allows one per driver process)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------

def register_parquet(spark, name: str, root: str) -> None:
    """Temp view ``name`` over a hive-partitioned Parquet folder (``root/day=YYYY-MM-DD/...``)."""
    spark.read.option("basePath", root).parquet(root).createOrReplaceTempView(name)


def register_parquet_file(spark, name: str, path: str) -> None:
    """Temp view ``name`` over Parquet file(s) (no partition discovery)."""
    spark.read.parquet(path).createOrReplaceTempView(name)


def register_frame(spark, name: str, frame: pl.DataFrame) -> None:
    """Temp view ``name`` over a small driver-side frame (the model catalog)."""
    spark.createDataFrame(frame.to_arrow()).createOrReplaceTempView(name)


def tables_read(sql: str) -> list[str]:
    """Names of the tables a SELECT reads (its CTE names excluded), in order of appearance."""
    tree = sqlglot.parse_one(sql, read=sparksql.GatewayDuckDB)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        if t.name not in ctes and t.name not in out:
            out.append(t.name)
    return out


def view_schema(spark, names: list[str]) -> MappingSchema:
    """{table: {column: Spark type}} of registered views, as sqlglot's schema for :func:`translate`."""
    mapping = {n: {f.name: f.dataType.simpleString() for f in spark.table(n).schema.fields} for n in names}
    return MappingSchema(mapping, dialect="spark")


# ------------------------------------------------------------------------------------------
# marts
# ------------------------------------------------------------------------------------------

def run_select(spark, sql: str, values: Mapping[str, object], macros: Mapping[str, sparksql.Macro] | None = None):
    """Translate a DuckDB SELECT over registered views and run it; returns a Spark DataFrame."""
    schema = view_schema(spark, tables_read(sql))
    tr = _translate_cached(sql, _schema_key(schema), schema, macros)
    return spark.sql(tr.sql, args=tr.args(values)).toDF(*tr.columns)


def _schema_key(schema: MappingSchema) -> str:
    return repr(sorted((t, sorted(c.items())) for t, c in schema.mapping.items()))


_CACHE: dict[tuple[str, str], sparksql.Translation] = {}


def _translate_cached(sql, key, schema, macros) -> sparksql.Translation:
    if (sql, key) not in _CACHE:
        _CACHE[(sql, key)] = sparksql.translate(sql, schema, macros)
    return _CACHE[(sql, key)]


def collect(df) -> pl.DataFrame:
    """A Spark DataFrame's rows on the driver, as polars (through Arrow)."""
    return pl.from_arrow(df.toArrow())


@lru_cache(maxsize=None)
def mart_schema(name: str) -> pa.Schema:
    """The Arrow schema of mart ``name`` as the DuckDB engine writes it (its SELECT's column types,
    from an empty in-memory warehouse): the one contract both engines' rows are cast to, so a
    lake partition written by Spark reads exactly like one written by DuckDB."""
    from gatewaylens import marts
    from gatewaylens.db import ensure_schema

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        ensure_schema(con)
        marts.ensure_tables(con)
        return con.sql(f"SELECT * FROM {marts.get(name).name} LIMIT 0").to_arrow_table().schema
    finally:
        con.close()


def mart_values(start_day: dt.date, end_day: dt.date, cfg: MartSettings) -> dict[str, object]:
    """The values of the ``getvariable(...)`` names a mart SELECT may read (days + mart settings)."""
    return {"start_day": start_day, "end_day": end_day, **cfg.model_dump()}


def mart_rows(spark, name: str, start_day: dt.date, end_day: dt.date, cfg: MartSettings) -> pl.DataFrame:
    """Rows of mart ``name`` for start_day..end_day (widened to the mart's grain), computed by
    Spark over the registered views, post-processed on the driver, cast to :func:`mart_schema`.
    The tables the SELECT reads (base tables, ``model_catalog``, the mart's deps) must be views."""
    from gatewaylens import marts

    mart = marts.get(name)
    start_day, end_day = mart.bound_days(start_day, end_day)
    df = run_select(spark, marts.mart_select(name), mart_values(start_day, end_day, cfg), _macros())
    rows = collect(df)
    if mart.postprocess is not None:
        done = mart.postprocess(rows, cfg)
        if done.columns != rows.columns:
            raise ValueError(f"post-processing of {name} changed the columns: {rows.columns} -> {done.columns}")
        rows = done
    schema = mart_schema(name)
    if rows.columns != schema.names:
        raise ValueError(f"Spark's columns of {name} differ from DuckDB's: {rows.columns} != {schema.names}")
    return pl.from_arrow(rows.to_arrow().cast(schema))


@lru_cache(maxsize=1)
def _macros() -> dict[str, sparksql.Macro]:
    from gatewaylens.db import sql_text

    return sparksql.parse_macros(sql_text("macros.sql"))
