"""The Spark engine: the sqlglot translation of the marts (gatewaylens.engines.sparksql) and the
equality of every mart built by Spark local[2] with the DuckDB build of the same generated days.

The translation is never trusted on its own: each dialect fix has a case below run on both
engines over the same small table (ties, NULLs, decimals), and every registered mart is compared
row by row (integers and strings exact, floats within 1e-9)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gatewaylens import db as dbmod
from gatewaylens import lake as lakemod
from gatewaylens import marts
from gatewaylens.config import MartSettings
from gatewaylens.engines import spark as engine
from gatewaylens.engines import sparksql
from gatewaylens.generator import generate

from tests.fixtures.storage import (SALT, assert_marts_equal, build_in_duckdb_file, build_in_lake, landing_days,
                                    mart_frames)

START = dt.date(2025, 3, 1)
DAYS = 4
RPD = 300
DUP = 25

spark_group = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def same_rows(expected: pl.DataFrame, actual: pl.DataFrame, what: str) -> None:
    """Equal as sets of rows: ints/strings/dates exact, floats within 1e-9 (absolute)."""
    assert actual.columns == expected.columns, what
    assert actual.height == expected.height, f"{what}: {actual.height} rows != {expected.height}"
    keys = [c for c, t in expected.schema.items() if not t.is_float()]
    try:
        assert_frame_equal(expected.sort(keys, nulls_last=True), actual.sort(keys, nulls_last=True),
                           check_dtypes=False, abs_tol=1e-9, rel_tol=0)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


# ------------------------------------------------------------------------------------------
# translation only (no Spark)
# ------------------------------------------------------------------------------------------

def duckdb_schema(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for t, c, ty in con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() ORDER BY table_name, column_index"
    ).fetchall():
        out.setdefault(t, {})[c] = ty
    return out


@pytest.fixture(scope="module")
def empty_warehouse():
    con = duckdb.connect()
    dbmod.ensure_schema(con)
    marts.ensure_tables(con)
    yield con
    con.close()


@pytest.mark.parametrize("name", marts.MARTS)
def test_every_mart_translates(empty_warehouse, name: str) -> None:
    tr = sparksql.translate(marts.mart_select(name), duckdb_schema(empty_warehouse), engine._macros())
    text = tr.sql.upper()
    for leftover in ("GETVARIABLE", "PERCENTILE_CONT", "QUANTILE", "GROUP BY ALL", "GL_WILSON", "EXCLUDE", "_U("):
        assert leftover not in text, f"{name}: {leftover} left in the Spark SQL"
    assert set(tr.parameters) <= set(engine.mart_values(START, START, MartSettings()))
    assert tr.columns == engine.mart_schema(name).names
    # the views Spark must have registered: real tables only (a table function is not one)
    from gatewaylens.marts.registry import BASE_TABLES
    assert set(engine.tables_read(marts.mart_select(name))) <= {*BASE_TABLES, *marts.MARTS}


def test_sqlglot_is_the_version_the_translation_was_checked_with() -> None:
    import sqlglot

    assert sqlglot.__version__ == sparksql.SQLGLOT_VERSION  # pinned in pyproject.toml; re-check before bumping


def test_macros_are_inlined_with_parenthesised_arguments() -> None:
    macros = sparksql.parse_macros("CREATE OR REPLACE TEMP MACRO half(x) AS x / 2;")
    tr = sparksql.translate("SELECT half(a + 1) AS h FROM t", {"t": {"a": "INTEGER"}}, macros)
    assert "CAST((t.a + 1) AS DOUBLE) / CAST(2 AS DOUBLE)" in " ".join(tr.sql.split()).replace("( ", "(").replace(" )", ")")


def test_variables_become_named_parameters() -> None:
    tr = sparksql.translate("SELECT count(*) AS n FROM t WHERE d BETWEEN getvariable('start_day') AND getvariable('end_day')",
                            {"t": {"d": "DATE"}})
    assert tr.parameters == ["start_day", "end_day"]
    assert ":start_day" in tr.sql and "'start_day'" not in tr.sql
    with pytest.raises(KeyError):
        tr.args({"start_day": START})


# ------------------------------------------------------------------------------------------
# each dialect fix, on both engines (Spark local[2])
# ------------------------------------------------------------------------------------------

CASES = {
    # first(... ORDER BY ...): ties broken by the second key, NULL keys last, per group
    "ordered_first": "SELECT g, first(h ORDER BY k DESC, h ASC) AS top, first(x ORDER BY k NULLS FIRST, x DESC) AS lo "
                     "FROM t GROUP BY g",
    # DECIMAL / DECIMAL is DOUBLE in DuckDB, a rounded DECIMAL in Spark
    "decimal_division": "SELECT g, sum(d) / sum(d + 3) AS r, sum(k) / 7 AS q, 7 // 2 AS i FROM t GROUP BY ALL",
    # quantile_cont with and without FILTER = Spark's percentile
    "quantiles": "SELECT g, quantile_cont(x, 0.95) FILTER (WHERE flag) AS q95, quantile_cont(x, 0.5) AS q50, "
                 "median(x) AS med FROM t GROUP BY ALL",
    # GROUP BY ALL where an alias shadows a column, and aliases read later in the same SELECT
    "group_by_all_aliases": "SELECT coalesce(g, '(none)') AS g, count(*) AS n, count(*) FILTER (WHERE flag) AS f, "
                            "f / n AS share FROM t GROUP BY ALL",
    # getvariable bindings (dates and integers) and date arithmetic
    "variables": "SELECT day - (getvariable('variance_window_days') - 1) AS first_day, count(*) AS n FROM t "
                 "WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day') GROUP BY ALL",
    # the Wilson macros of sql/macros.sql
    "macros": "SELECT g, gl_wilson_low(count(*) FILTER (WHERE flag), count(*)) AS lo, "
              "gl_wilson_high(count(*) FILTER (WHERE flag), count(*)) AS hi FROM t GROUP BY g",
    # date/time functions in UTC
    "time": "SELECT date_trunc('hour', h) AS hr, hour(h) AS hh, date_trunc('minute', h) AS mi, count(*) AS n "
            "FROM t GROUP BY ALL",
    # nullif guards a zero denominator: NULL on both engines
    "nullif_division": "SELECT g, count(*) FILTER (WHERE k > 1000) / nullif(count(*) FILTER (WHERE k > 1000), 0) AS z "
                       "FROM t GROUP BY g",
    # star EXCLUDE, IS DISTINCT FROM, split_part, window count
    "star_exclude": "WITH s AS (SELECT t.* EXCLUDE (x, d) FROM t) SELECT g, k, split_part(g, '/', 1) AS vendor, "
                    "g IS DISTINCT FROM 'a/x' AS not_ax, count(*) OVER (PARTITION BY g) AS in_g FROM s",
}


@pytest.fixture(scope="module")
def small(spark, tmp_path_factory):
    """The same 9-row table in DuckDB (with the macros and variables) and as a Spark view."""
    rows = {
        "g": ["a/x", "a/x", "a/x", "b/y", "b/y", "b/y", None, None, "c/z"],
        "k": [3, 5, 5, 1, None, 1, 2, 2, 7],
        "x": [1.5, 2.25, 10.0, 0.1, 0.2, 0.3, 5.0, None, 4.0],
        "d": ["0.100000000001", "0.2", "0.3", "1.5", "2.5", "0.000000000007", "1", "2", "3"],
        "h": [dt.datetime(2025, 3, 1, 1, 5, tzinfo=dt.UTC), dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC),
              dt.datetime(2025, 3, 1, 1, 30, tzinfo=dt.UTC), dt.datetime(2025, 3, 2, 23, 59, tzinfo=dt.UTC),
              dt.datetime(2025, 3, 2, 0, 1, tzinfo=dt.UTC), dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC),
              dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC), dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC),
              dt.datetime(2025, 3, 4, 9, 9, tzinfo=dt.UTC)],
        "flag": [True, False, True, True, None, True, False, True, False],
    }
    frame = pl.DataFrame(rows).with_columns(
        pl.col("d").cast(pl.Decimal(38, 12)), day=pl.col("h").dt.date())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t AS SELECT * FROM frame")
    marts.ensure_macros(con)
    values = engine.mart_values(dt.date(2025, 3, 2), dt.date(2025, 3, 3), MartSettings())
    marts.bind_settings(con, MartSettings())
    marts.bind_days(con, values["start_day"], values["end_day"])
    path = tmp_path_factory.mktemp("small") / "t.parquet"
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    engine.register_parquet_file(spark, "t", str(path))
    yield con, values
    con.close()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_dialect_fix_gives_duckdb_results(spark, small, case: str) -> None:
    con, values = small
    sql = CASES[case]
    expected = con.sql(sql).pl()
    actual = engine.collect(engine.run_select(spark, sql, values, engine._macros()))
    assert expected.height > 0
    same_rows(expected, actual, case)


# ------------------------------------------------------------------------------------------
# the equality test: (a) DuckDB file, (b) lake with DuckDB, (c) lake with Spark local[2]
# ------------------------------------------------------------------------------------------

def build_in_lake_with_spark(spark, landing: Path, lake: lakemod.Lake) -> tuple[dict[str, pl.DataFrame], list]:
    """Ingest every landing day (one Spark task each, then the Spark SQL dedupe) and build every
    mart with Spark; returns the marts as a fresh lake reader sees them, and the FileResults."""
    days = landing_days(landing)
    files = engine.ingest_days(spark, lake, days, salt=SALT)
    engine.build_all(spark, lake, min(days), max(days))
    con = lakemod.connect(lake)
    try:
        return mart_frames(con), files
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, int]:
    """DAYS x RPD generated requests (1% bad lines), plus a late file on the last landing day that
    repeats DUP lines of the first day's file (a request logged twice, in two sources)."""
    root = tmp_path_factory.mktemp("spark_eq") / "landing"
    generate(DAYS, RPD, 3, root, start=START, bad_rate=0.01)
    first = landing_days(root)[START][0]
    lines = [ln for ln in first.read_bytes().splitlines() if ln.strip()][:DUP]
    last = START + dt.timedelta(days=DAYS - 1)
    late = root / f"{last:%Y}" / f"{last:%m}" / f"{last:%d}" / "late-resend.jsonl"
    late.write_bytes(b"\n".join(lines) + b"\n")
    return root, len(lines)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_marts_equal_in_duckdb_file_lake_and_spark(spark, landing, tmp_path: Path) -> None:
    root, resent = landing
    expected = build_in_duckdb_file(root, tmp_path / "wh.duckdb")
    in_lake = build_in_lake(root, lakemod.Lake(tmp_path / "lake-duckdb"))
    on_spark, files = build_in_lake_with_spark(spark, root, lakemod.Lake(tmp_path / "lake-spark"))
    # the comparison is not vacuous: every mart has rows, but provider_regressions (one row per detected
    # change; a few clean days have none)
    assert {n for n, f in expected.items() if f.height == 0} <= {"provider_regressions"}
    assert_marts_equal(in_lake, expected)
    assert_marts_equal(on_spark, expected)
    # every input line is a row, a counted duplicate or a quarantined record, file by file
    for f in files:
        assert f.records == f.rows_inserted + f.duplicates + f.quarantined + f.merged, f.path
    late = next(f for f in files if f.path.endswith("late-resend.jsonl"))
    assert late.duplicates == late.records - late.quarantined - late.merged and late.rows_inserted == 0
    assert late.records >= resent
    con = lakemod.connect(lakemod.Lake(tmp_path / "lake-spark"))
    try:
        stored = con.sql("SELECT path, rows_inserted, duplicates FROM ingested_files").pl()
        assert con.sql("SELECT count(*) - count(DISTINCT request_id) FROM requests").fetchall()[0][0] == 0
        assert stored["rows_inserted"].sum() == con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
    finally:
        con.close()
    assert dict(zip(stored["path"], stored["duplicates"])) == {f.path: f.duplicates for f in files}


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_dagster_builds_the_lake_with_spark(spark, env, monkeypatch, tmp_path: Path) -> None:
    """GATEWAYLENS_ENGINE=spark through Dagster: requests + every mart of one partition, on the
    session of dagster-pyspark's resource, equal to the DuckDB lake build of the same day."""
    import dagster as dg

    generate(1, 200, 5, env["landing"], start=START)
    lake_root = tmp_path / "lake-dagster"
    for key, value in {"STORAGE": "lake", "LAKE": str(lake_root), "ENGINE": "spark", "SPARK_MASTER": "local[2]"}.items():
        monkeypatch.setenv(f"GATEWAYLENS_{key}", value)
    from pipelines.defs import assets, resources

    assert resources.executor() is dg.in_process_executor  # one driver holds the session
    result = dg.materialize(
        [assets.requests, *assets.mart_assets],
        resources={"duckdb": resources.warehouse_resource(), "pyspark": resources.spark_resource()},
        partition_key=START.isoformat(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    expected = build_in_lake(env["landing"], lakemod.Lake(tmp_path / "lake-duckdb"))
    con = lakemod.connect(lakemod.Lake(lake_root))
    try:
        assert_marts_equal(mart_frames(con), expected)
    finally:
        con.close()
