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
from gatewaylens import marts
from gatewaylens.catalog import load_catalog
from gatewaylens.config import MartSettings
from gatewaylens.engines import spark as engine
from gatewaylens.engines import sparksql
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths

START = dt.date(2025, 3, 1)
DAYS = 4
RPD = 300

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
    for leftover in ("GETVARIABLE", "PERCENTILE_CONT", "QUANTILE", "GROUP BY ALL", "GL_WILSON", "EXCLUDE"):
        assert leftover not in text, f"{name}: {leftover} left in the Spark SQL"
    assert set(tr.parameters) <= set(engine.mart_values(START, START, MartSettings()))
    assert tr.columns == engine.mart_schema(name).names


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
# every mart: DuckDB file vs Spark over the same rows
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """DAYS x RPD generated requests, ingested and built in a DuckDB file; requests and
    provider_attempts exported as day-partitioned Parquet (what Spark reads)."""
    root = tmp_path_factory.mktemp("spark_eq")
    generate(DAYS, RPD, 3, root / "landing", start=START, bad_rate=0.01)
    con = dbmod.connect(root / "wh.duckdb")
    ingest_paths(con, [root / "landing"], salt="test")
    end = START + dt.timedelta(days=DAYS - 1)
    marts.build_all(con, START, end)
    for table in ("requests", "provider_attempts"):
        con.execute(f"COPY {table} TO '{root / table}' (FORMAT parquet, PARTITION_BY (day))")
    expected = {name: con.sql(f"SELECT * FROM {name}").pl() for name in marts.MARTS}
    con.close()
    return root, end, expected


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_every_mart_equal_on_spark(spark, built, tmp_path: Path) -> None:
    root, end, expected = built
    engine.register_parquet(spark, "requests", str(root / "requests"))
    engine.register_parquet(spark, "provider_attempts", str(root / "provider_attempts"))
    engine.register_frame(spark, "model_catalog", load_catalog())
    cfg = MartSettings()
    for name in marts.MARTS:
        rows = engine.mart_rows(spark, name, START, end, cfg)
        assert rows.height > 0, name
        same_rows(expected[name], rows, name)
        path = tmp_path / f"{name}.parquet"
        rows.write_parquet(path)
        engine.register_parquet_file(spark, name, str(path))  # marts built from it read Spark's rows
