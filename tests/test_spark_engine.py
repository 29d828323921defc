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
    # products of integer totals in DOUBLE (vendor_concentration_monthly's HHI, the Wilson macros):
    # DuckDB sums BIGINT to a 128-bit HUGEINT, Spark keeps BIGINT and its ANSI mode raises
    # ARITHMETIC_OVERFLOW past 9.2e18 (these totals reach 3.9e10: their squares would)
    "products_in_double": "WITH s AS (SELECT g, sum(k) * 3000000000 AS t FROM t GROUP BY ALL) "
                          "SELECT sum(CAST(t AS DOUBLE) * t) / nullif(CAST(sum(t) AS DOUBLE) * sum(t), 0) AS hhi, "
                          "max(t) AS top FROM s",
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


@pytest.fixture(scope="module")
def in_duckdb_file(landing, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """(a): every mart of the landing days built in a DuckDB file (built once for the module)."""
    return build_in_duckdb_file(landing[0], tmp_path_factory.mktemp("spark_eq_file") / "wh.duckdb")


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_marts_equal_in_duckdb_file_lake_and_spark(spark_env, landing, in_duckdb_file, env, monkeypatch,
                                                   tmp_path: Path) -> None:
    """The one Spark build of the suite: Dagster materializes requests, every mart and the serving
    file over the DAYS landing days (one run) with GATEWAYLENS_ENGINE=spark, on the session of
    dagster-pyspark's resource. Its marts equal (a) the DuckDB file's and (b) the DuckDB lake's.
    (The checks run over the lake with DuckDB whatever the engine: tests/test_lake.py runs them.)"""
    import dagster as dg

    root, resent = landing
    monkeypatch.setenv("GATEWAYLENS_LANDING", str(root))
    monkeypatch.setenv("GATEWAYLENS_SALT", SALT)  # the salt of (a) and (b)
    expected = in_duckdb_file
    in_lake = build_in_lake(root, lakemod.Lake(tmp_path / "lake-duckdb"))
    from pipelines.defs import assets, resources

    assert resources.executor() is dg.in_process_executor  # one driver holds the session
    end = START + dt.timedelta(days=DAYS - 1)
    result = dg.materialize(
        [assets.requests, *assets.mart_assets, assets.serving_snapshot],
        resources={"duckdb": resources.warehouse_resource(), "pyspark": resources.spark_resource()},
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": START.isoformat(), "dagster/asset_partition_range_end": end.isoformat()})
    assert result.success
    lake = lakemod.Lake(spark_env)
    con = lakemod.connect(lake)
    try:
        on_spark = mart_frames(con)
        # the comparison is not vacuous: every mart has rows, but provider_regressions (one row per detected
        # change; a few clean days have none)
        assert {n for n, f in expected.items() if f.height == 0} <= {"provider_regressions"}
        assert_marts_equal(in_lake, expected)
        assert_marts_equal(on_spark, expected)
        # every input line is a row, a counted duplicate or a quarantined record, file by file
        files = con.sql("SELECT path, records, rows_inserted, duplicates, quarantined, merged FROM ingested_files").pl()
        assert files.filter(pl.col("records") != pl.col("rows_inserted") + pl.col("duplicates") + pl.col("quarantined")
                            + pl.col("merged")).is_empty()
        late = files.filter(pl.col("path").str.ends_with("late-resend.jsonl")).row(0, named=True)
        assert late["duplicates"] == late["records"] - late["quarantined"] - late["merged"] and late["rows_inserted"] == 0
        assert late["records"] >= resent
        n_requests = con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
        assert con.sql("SELECT count(*) - count(DISTINCT request_id) FROM requests").fetchall()[0][0] == 0
        assert files["rows_inserted"].sum() == n_requests
    finally:
        con.close()
    # what the Spark ingest returned (the requests asset's metadata) is what the lake stored
    meta = result.asset_materializations_for_node("requests")[0].metadata
    assert (meta["rows_inserted"].value, meta["duplicates"].value) == (n_requests, files["duplicates"].sum())
    snap = dbmod.connect_readonly(env["db"].with_name("warehouse.serving.duckdb"))
    try:  # readers get the Spark-built marts and the lake's rows through the serving file
        assert snap.sql("SELECT count(*) FROM requests").fetchall()[0][0] == n_requests
        assert snap.sql("SELECT sum(requests) FROM tool_call_rate_daily").fetchall()[0][0] == n_requests
    finally:
        snap.close()


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_cli_ingests_and_builds_on_spark(spark_env, landing, in_duckdb_file, monkeypatch) -> None:
    """`gatewaylens ingest` / `build` with GATEWAYLENS_ENGINE=spark go through the storage seam to
    Spark: the first landing day into a fresh lake, two day-local marts, equal to the DuckDB file's
    rows of that day (the late re-sent copies land on the last day)."""
    from typer.testing import CliRunner

    from gatewaylens.cli import app

    monkeypatch.setenv("GATEWAYLENS_SALT", SALT)
    runner = CliRunner()
    folder = landing[0] / f"{START:%Y}" / f"{START:%m}" / f"{START:%d}"
    res = runner.invoke(app, ["ingest", str(folder)])
    assert res.exit_code == 0, res.output
    assert f"lake {spark_env}" in res.output
    mine = ["tool_call_rate_daily", "cost_daily"]
    res = runner.invoke(app, ["build", "--day", START.isoformat(), *[a for m in mine for a in ("--mart", m)]])
    assert res.exit_code == 0, res.output
    assert "on Spark" in res.output
    lake = lakemod.Lake(spark_env)
    assert [Path(f).parent.name for f in lake.files("marts/cost_daily")] == [f"day={START}"]
    assert not lake.files("marts/model_mix_daily")  # --mart builds only what it names
    con = lakemod.connect(lake)
    try:
        built = mart_frames(con)
    finally:
        con.close()
    assert_marts_equal({m: built[m] for m in mine}, {m: in_duckdb_file[m].filter(pl.col("day") == START) for m in mine})
    assert all(built[m].height for m in mine)
