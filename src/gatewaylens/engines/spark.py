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
import sys
from collections.abc import Mapping
from functools import lru_cache

import duckdb
import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.schema import MappingSchema

from gatewaylens.config import MartSettings, Settings
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


MISSING = ("GATEWAYLENS_ENGINE=spark needs the Spark extra, which this install does not have: "
           "pip install 'gatewaylens[spark]' (PySpark 4 and dagster-pyspark; Java 17+ on the machine)")


def session(conf: Mapping[str, str]):
    """A SparkSession with ``conf`` (or the running one: Spark allows one per driver process)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc

    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    return prepare(builder.getOrCreate(), conf)


def prepare(spark, conf: Mapping[str, str]):
    """What a session needs beyond its configuration (also applied to Dagster's ``pyspark``
    resource's session): quiet logs and, in local mode, this interpreter for the Python workers."""
    spark.sparkContext.setLogLevel("ERROR")
    if str(conf.get("spark.master", "")).startswith("local") and "spark.pyspark.python" not in conf:
        # Local Python workers (the ingest tasks) run this interpreter, which has gatewaylens
        # installed (PySpark would start `python3` from PATH). On a cluster, install gatewaylens on
        # the workers and set spark.pyspark.python.
        spark.sparkContext.pythonExec = sys.executable
    return spark


def session_for(cfg: Settings):
    """The session of the current settings (``GATEWAYLENS_SPARK_MASTER`` / ``GATEWAYLENS_SPARK_CONF``)."""
    return session(spark_conf(cfg.spark_master, cfg.spark_conf))


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


# The views a session has, and what each was created over: (application id, view) -> listing /
# content digest. A view is re-created only when that changed (creating one lists its folder and
# reads a footer: a Spark job, per mart, per view, otherwise).
_REGISTERED: dict[tuple[str, str], object] = {}


def _unchanged(spark, name: str, what: object) -> bool:
    return _REGISTERED.get((spark.sparkContext.applicationId, name)) == what


def _remember(spark, name: str, what: object) -> None:
    _REGISTERED[(spark.sparkContext.applicationId, name)] = what


def register_catalogs(spark) -> list[str]:
    """Temp views of the catalog tables the marts join (``model_catalog``, ``provider_catalog``),
    built by the same code as in DuckDB (``marts.refresh_catalog``) and handed over as Arrow
    (again only when their content changed)."""
    import hashlib

    from gatewaylens import marts
    from gatewaylens.marts.registry import BASE_TABLES

    con = duckdb.connect()
    try:
        marts.refresh_catalog(con)
        names = [t for t in BASE_TABLES if t.endswith("_catalog")]
        for name in names:
            table = con.sql(f"SELECT * FROM {name}").to_arrow_table()
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
            if not _unchanged(spark, name, digest):
                spark.createDataFrame(table).createOrReplaceTempView(name)
                _remember(spark, name, digest)
        return names
    finally:
        con.close()


def tables_read(sql: str) -> list[str]:
    """Names of the tables a SELECT reads (its CTE names excluded), in order of appearance."""
    tree = sqlglot.parse_one(sql, read=sparksql.GatewayDuckDB)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        if t.name and t.name not in ctes and t.name not in out:  # no name: a table function (generate_series)
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


# ------------------------------------------------------------------------------------------
# the lake on Spark: ingest on the executors, dedupe and marts in Spark SQL
# ------------------------------------------------------------------------------------------

def register_lake(spark, lake, names: list[str] | None = None) -> list[str]:
    """Temp views over the lake's tables that have files (``requests``, ``provider_attempts``,
    marts) and the catalogs (:func:`register_catalogs`); returns the names registered. Spark lists
    a folder when the view is created: a view is re-created when its folder's listing (files,
sizes, modification times) changed since, and kept otherwise."""
    from gatewaylens import lake as lakemod
    from gatewaylens import marts

    wanted = names or [*lakemod.BY_REQUEST_DAY, *marts.MARTS]
    done = []
    for name in wanted:
        folder = f"marts/{name}" if name in marts.MARTS else name
        listing = lake.listing(folder)
        if listing:
            if not _unchanged(spark, name, (lake.root, tuple(listing))):  # same files, sizes, mtimes: keep
                register_parquet(spark, name, lake.folder(folder))
                _remember(spark, name, (lake.root, tuple(listing)))
            done.append(name)
    register_catalogs(spark)
    return done


def _ingest_task(items):
    """Executor side: each item is one source (a landing day and its files) staged by the existing
    DuckDB ingest into the lake (:func:`gatewaylens.lake.ingest_source`)."""
    from gatewaylens import lake as lakemod

    for source, paths, salt, root, fmt in items:
        res = lakemod.ingest_source(source, paths, salt=salt, lake=lakemod.Lake(root), fmt=fmt)
        yield res


def ingest_days(spark, lake, files_by_day: Mapping[dt.date, list], *, salt: str, fmt: str | None = None) -> list:
    """Ingest each landing day's files into the lake: one Spark task per landing day (a *source*:
    its files are staged by DuckDB inside the task and written as the source's Parquet files),
    then :func:`dedupe_days` over the request days written. Returns the ingest.FileResult of
    every file, counts adjusted by the dedupe."""
    items = [(day.isoformat(), [str(p) for p in files], salt, lake.root, fmt)
             for day, files in sorted(files_by_day.items()) if files]
    if not items:
        return []
    sc = spark.sparkContext
    results = sc.parallelize(items, len(items)).mapPartitions(_ingest_task).collect()
    days = sorted({d for r in results for d in r.days})
    moved = dedupe_days(spark, lake, days)
    files = [f for r in results for f in r.files]
    for f in files:
        n = moved.get(str(f.path), 0)
        f.rows_inserted -= n
        f.duplicates += n
    return files


DUPLICATES_SQL = """
WITH copies AS (
    SELECT request_id, source_file, input_file_name() AS file, day
    FROM requests
    WHERE day IN ({days})
), numbered AS (
    SELECT *, row_number() OVER (PARTITION BY day, request_id ORDER BY file) AS copy_no
    FROM copies
)
SELECT request_id, source_file, file, day FROM numbered WHERE copy_no > 1
"""


def dedupe_days(spark, lake, days: list[dt.date]) -> dict[str, int]:
    """Dedupe the day partitions ``days`` by request_id in Spark SQL.

    Sources ingested at the same time (parallel tasks) cannot see each other's files, so a request
    logged in two of them may be kept twice. The copy in the earliest source (file name
    ``from-<landing day>``, the order a serial ingest would have read them) is kept; the others are
    removed from their source's requests/provider_attempts files, and their input files' counts in
    ``ingested_files`` move from rows_inserted to duplicates. Returns {input file: rows moved}."""
    if not days:
        return {}
    register_lake(spark, lake, ["requests"])
    marks = ", ".join(f"DATE'{d.isoformat()}'" for d in days)  # dates from the lake, not user text
    dupes = collect(spark.sql(DUPLICATES_SQL.format(days=marks)))
    if dupes.is_empty():
        return {}
    _remove_copies(lake, dupes)
    return dict(dupes.group_by("source_file").len().iter_rows())


def _remove_copies(lake, dupes: pl.DataFrame) -> None:
    """Rewrite (atomically, through the lake's writer) the source files holding removed copies."""
    from gatewaylens import lake as lakemod

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        lake.register(con)
        con.register("_gl_dupes", dupes.to_arrow())
        for (file, day), group in dupes.group_by(["file", "day"]):
            path = _local_path(file)
            name = path.rsplit("/", 1)[-1].removesuffix(".parquet")
            ids = "SELECT request_id FROM _gl_dupes WHERE file = ?"
            for table in lakemod.BY_REQUEST_DAY:
                target = f"{lake.partition(table, day)}/{name}.parquet"
                con.execute(f"CREATE OR REPLACE TEMP TABLE _gl_keep AS SELECT * FROM read_parquet(?) "
                            f"WHERE request_id NOT IN ({ids})", [target, file])
                lake.write(con, "SELECT * FROM _gl_keep", [], table, day, name)
            source = dt.date.fromisoformat(name.removeprefix("from-"))
            target = f"{lake.partition('ingested_files', source)}/{name}.parquet"
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _gl_keep AS SELECT f.* REPLACE ("
                "f.rows_inserted - coalesce(d.n, 0) AS rows_inserted, f.duplicates + coalesce(d.n, 0) AS duplicates) "
                "FROM read_parquet(?) f LEFT JOIN (SELECT source_file, count(*) AS n FROM _gl_dupes WHERE file = ? "
                "GROUP BY source_file) d ON d.source_file = f.path", [target, file])
            lake.write(con, "SELECT * FROM _gl_keep", [], "ingested_files", source, name)
    finally:
        con.close()


def _local_path(uri: str) -> str:
    """Spark's input_file_name() is a URI (file:///x/y); the lake's writer takes the lake's form."""
    return uri.removeprefix("file://") if uri.startswith("file:///") else uri


def build_mart(spark, lake, name: str, start_day: dt.date, end_day: dt.date | None = None,
               cfg: MartSettings | None = None):
    """(Re)build mart ``name`` in the lake with Spark: :func:`mart_rows`, then one atomic partition
    file per day of the bound range (empty for a day without rows), as the DuckDB lake build."""
    import time

    from gatewaylens import lake as lakemod
    from gatewaylens import marts
    from gatewaylens.config import mart_settings

    started = time.perf_counter()
    cfg = cfg or mart_settings()
    mart = marts.get(name)
    start_day, end_day = mart.bound_days(start_day, end_day or start_day)
    register_lake(spark, lake, [*lakemod.BY_REQUEST_DAY, *mart.deps])
    rows = mart_rows(spark, name, start_day, end_day, cfg)
    days = lakemod.days_between(start_day, end_day)
    if mart.grain == "month":
        days = sorted({d.replace(day=1) for d in days})
    con = duckdb.connect()
    try:
        lake.register(con)
        con.register("_gl_rows", rows.to_arrow())
        lake.write_days(con, "SELECT * FROM _gl_rows", [], f"marts/{name}", days, lakemod.MART_FILE)
    finally:
        con.close()
    return marts.MartResult(name, start_day, end_day, rows.height, time.perf_counter() - started)


def build_all(spark, lake, start_day: dt.date, end_day: dt.date | None = None, cfg: MartSettings | None = None,
              on_mart=None) -> list:
    """Every mart, in registry order, for start_day..end_day, with Spark."""
    from gatewaylens import marts

    out = []
    for name in marts.MARTS:
        res = build_mart(spark, lake, name, start_day, end_day, cfg)
        out.append(res)
        if on_mart is not None:
            on_mart(res)
    return out
