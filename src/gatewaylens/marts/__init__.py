"""Metric marts: one ``sql/<name>.sql`` SELECT + one registry entry per mart, built per UTC day.

A mart file is a header comment (grain, formulas, caveats) and ONE plain SELECT over the bound
day range; it is runnable as-is in the DuckDB CLI once the day range and the settings are bound
(``gatewaylens.marts.bind_sql()`` prints the ``SET VARIABLE`` lines)::

    SET VARIABLE start_day = DATE '2026-01-15';
    SET VARIABLE end_day = DATE '2026-01-15';
    SET VARIABLE variance_window_days = 7;  -- ... see config.MartSettings
    .read src/gatewaylens/sql/macros.sql
    .read src/gatewaylens/sql/tool_call_rate_daily.sql

The registry (:mod:`gatewaylens.marts.registry`) declares each mart's dependencies,
partitioning (grain, trailing-window lookback) and optional Python post-processing step. The
runner owns writing. :func:`build_mart` (the DuckDB file) computes the SELECT into a temporary
table (:func:`compute`), applies the post-processing step, then deletes the bound days of the
mart table and inserts the new rows in one transaction (the table is created from the SELECT's
column types when missing) — so a build touches only its days and re-running it is idempotent.
The lake (:mod:`gatewaylens.lake`) reuses :func:`compute` and overwrites the days' partitions.
Each day's rows depend only on that day's requests, except ``provider_variance`` (a trailing
window that reads the previous ``variance_window_days - 1`` days) and the marts built from other
marts (``deps``).

Column documentation lives next to each column: a trailing ``-- comment`` on the line of the
final SELECT that defines it; :func:`mart_docs` parses it, the data dictionary
(docs/data-dictionary.md) is generated from it (:func:`dictionary_markdown`), Dagster shows it
as the asset's column schema — the SQL file is the single source of truth.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl

from gatewaylens.catalog import load_catalog
from gatewaylens.providers import TABLE as PROVIDER_CATALOG_TABLE
from gatewaylens.providers import TABLE_DOCS as PROVIDER_DOCS
from gatewaylens.config import MartSettings, mart_settings
from gatewaylens.db import sql_text
from gatewaylens.marts.registry import REGISTRY, Mart, get, with_dependencies

# Marts in dependency order (a mart may read marts listed before it).
MARTS: list[str] = [m.name for m in REGISTRY]

VIEWS: list[str] = ["v_requests", "v_adoption_monthly"]

CATALOG_TABLE = "model_catalog"
PROVIDER_TABLE = PROVIDER_CATALOG_TABLE
#: reference tables written by refresh_catalog (copied whole into the serving snapshot)
CATALOG_TABLES: tuple[str, ...] = (CATALOG_TABLE, PROVIDER_TABLE)
ROWS_TABLE = "_gl_mart_rows"  # temporary table holding a build's rows before they are written

__all__ = [
    "MARTS", "VIEWS", "CATALOG_TABLE", "CATALOG_TABLES", "Mart", "MartSettings", "MartResult", "MartLayoutError", "mart_settings",
    "build_mart", "build_all", "compute", "mart_select", "bind_days", "bind_settings", "bind_sql", "ensure_macros",
    "refresh_catalog", "ensure_views", "drop_marts", "days_with_requests", "mart_docs", "mart_descriptions",
    "dictionary_markdown", "describe_frame", "with_dependencies", "get",
]


@dataclass
class MartResult:
    name: str
    start_day: dt.date
    end_day: dt.date
    rows: int
    seconds: float


def split_statements(text: str) -> list[str]:
    """Split a SQL file on ';' at line ends (views.sql and macros.sql keep one statement per ';\\n')."""
    parts, current = [], []
    for line in text.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt.strip(";").strip():
                parts.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        parts.append(tail)
    return parts


def mart_select(name: str) -> str:
    """The SELECT of mart ``name`` (its file without the trailing ';'), for any engine to run."""
    return sql_text(get(name).sql_file).strip().rstrip(";").rstrip()


def bind_days(con: duckdb.DuckDBPyConnection, start_day: dt.date, end_day: dt.date) -> None:
    con.execute("SET VARIABLE start_day = CAST(? AS DATE)", [start_day])
    con.execute("SET VARIABLE end_day = CAST(? AS DATE)", [end_day])


def bind_settings(con: duckdb.DuckDBPyConnection, cfg: MartSettings | None = None) -> MartSettings:
    """``SET VARIABLE <name> = ?`` for every mart setting (names from the fixed model fields)."""
    cfg = cfg or mart_settings()
    for name in MartSettings.model_fields:
        value = getattr(cfg, name)
        cast = "INTEGER" if isinstance(value, int) else "DOUBLE"
        con.execute(f"SET VARIABLE {name} = CAST(? AS {cast})", [value])
    return cfg


def bind_sql(start_day: dt.date, end_day: dt.date | None = None, cfg: MartSettings | None = None) -> str:
    """The ``SET VARIABLE`` lines to paste into the DuckDB CLI before ``.read``-ing a mart file."""
    cfg = cfg or mart_settings()
    lines = [f"SET VARIABLE start_day = DATE '{start_day.isoformat()}';",
             f"SET VARIABLE end_day = DATE '{(end_day or start_day).isoformat()}';"]
    lines += [f"SET VARIABLE {n} = {getattr(cfg, n)};" for n in MartSettings.model_fields]
    return "\n".join(lines)


def ensure_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the SQL macros the mart SELECTs call (``sql/macros.sql``; temporary, per connection)."""
    for stmt in split_statements(sql_text("macros.sql")):
        con.execute(stmt)


# ------------------------------------------------------------------------------------------
# model catalog and views
# ------------------------------------------------------------------------------------------

CATALOG_DOCS: dict[str, str] = {
    "model": "Model slug 'vendor/model' (joins requests.model).",
    "vendor": "Vendor of the model.",
    "tier": "'frontier' | 'small' | 'specialty' | 'other'. Models missing from the catalog count as 'other' in marts.",
    "input_usd_per_mtok": "List price of uncached prompt tokens, USD per million tokens.",
    "output_usd_per_mtok": "List price of completion tokens (reasoning included), USD per million tokens.",
    "cached_input_usd_per_mtok": "List price of cached prompt tokens, USD per million tokens.",
    "reports_reasoning": "'yes' = reports reasoning tokens, 'zero' = always reports 0, 'no' = field absent (NULL).",
    "cache_write_usd_per_mtok": "List price of prompt tokens written to the cache (Anthropic: 1.25x input), USD per million tokens; NULL = writes billed as input.",
}


def refresh_catalog(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write table ``model_catalog`` from the packaged CSV + ``$GATEWAYLENS_CATALOG`` (and
    table ``provider_catalog`` from the provider catalogue, see gatewaylens.providers).
    Returns the number of models. Does not open or commit a transaction of its own."""
    from gatewaylens.providers import refresh_provider_catalog

    refresh_provider_catalog(con)
    frame = load_catalog()
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (
            model VARCHAR NOT NULL, vendor VARCHAR, tier VARCHAR NOT NULL,
            input_usd_per_mtok DOUBLE, output_usd_per_mtok DOUBLE, cached_input_usd_per_mtok DOUBLE,
            reports_reasoning VARCHAR, cache_write_usd_per_mtok DOUBLE)"""
    )
    # warehouses created before the cache-write price: add the column (at the end)
    con.execute(f"ALTER TABLE {CATALOG_TABLE} ADD COLUMN IF NOT EXISTS cache_write_usd_per_mtok DOUBLE")
    con.register("_gl_catalog", frame.to_arrow())
    try:
        con.execute(f"DELETE FROM {CATALOG_TABLE}")
        cols = ", ".join(CATALOG_DOCS)
        con.execute(f"INSERT INTO {CATALOG_TABLE} ({cols}) SELECT {cols} FROM _gl_catalog")
    finally:
        con.unregister("_gl_catalog")
    return frame.height


class MartLayoutError(RuntimeError):
    """A mart table in the database has other columns than its SELECT produces (older version)."""


def _columns(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = coalesce(?, current_database()) ORDER BY column_index", [table, database]).fetchall()]


def drop_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every mart table and view (``build --rebuild``); base tables are untouched."""
    for view in VIEWS:
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for name in reversed(MARTS):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every mart table that is missing (neither a table nor a view, e.g. over the lake), empty,
    with the columns of its SELECT."""
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()}
    missing = [m for m in MARTS if m not in existing]
    if not missing:
        return
    ensure_macros(con)
    if not set(CATALOG_TABLES) <= existing:
        refresh_catalog(con)
    if con.execute("SELECT getvariable('start_day') IS NULL").fetchall()[0][0]:
        bind_settings(con)  # the SELECTs need typed variables to bind; no day has rows this early
        bind_days(con, dt.date(1, 1, 1), dt.date(1, 1, 1))
    for name in missing:  # registry order: a mart's deps exist before it
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM ({mart_select(name)}) LIMIT 0")


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the analyst views of ``sql/views.sql`` (needs every mart table and the catalog)."""
    ensure_tables(con)
    for stmt in split_statements(sql_text("views.sql")):
        con.execute(stmt)


# ------------------------------------------------------------------------------------------
# build
# ------------------------------------------------------------------------------------------

def compute(con: duckdb.DuckDBPyConnection, name: str, cfg: MartSettings) -> None:
    """Run mart ``name``'s SELECT for the bound days into temp table :data:`ROWS_TABLE`, then its
    post-processing step. Days, settings, macros and ``model_catalog`` must be in place; the
    engine-neutral half of a build (the DuckDB file and the lake write the rows differently)."""
    mart = get(name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ROWS_TABLE} AS {mart_select(name)}")
    if mart.postprocess is None:
        return
    rows = con.sql(f"SELECT * FROM {ROWS_TABLE}").pl()
    done = mart.postprocess(rows, cfg)
    if done.columns != rows.columns:
        raise ValueError(f"post-processing of {name} changed the columns: {rows.columns} -> {done.columns}")
    con.register("_gl_post", done.to_arrow())
    try:
        con.execute(f"DELETE FROM {ROWS_TABLE}")
        con.execute(f"INSERT INTO {ROWS_TABLE} BY NAME SELECT * FROM _gl_post")
    finally:
        con.unregister("_gl_post")
    # a post-processing step may read lookback rows (a history); only the bound days are written
    con.execute(f"DELETE FROM {ROWS_TABLE} WHERE day NOT BETWEEN getvariable('start_day') AND getvariable('end_day')")


def prepare(con: duckdb.DuckDBPyConnection, name: str, start_day: dt.date, end_day: dt.date | None,
            settings: MartSettings | None) -> tuple[Mart, dt.date, dt.date, MartSettings]:
    """Validate the range, bind days (widened to the mart's grain), settings and macros."""
    mart = get(name)
    end_day = end_day or start_day
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    start_day, end_day = mart.bound_days(start_day, end_day)
    cfg = bind_settings(con, settings)
    bind_days(con, start_day, end_day)
    ensure_macros(con)
    return mart, start_day, end_day, cfg


def build_mart(
    con: duckdb.DuckDBPyConnection,
    name: str,
    start_day: dt.date,
    end_day: dt.date | None = None,
    settings: MartSettings | None = None,
) -> MartResult:
    """(Re)build mart ``name`` in the DuckDB file for the days start_day..end_day (inclusive; whole
    months for a monthly grain) in one transaction: DELETE the days + INSERT the SELECT's rows.

    Also refreshes ``model_catalog`` and the views. The mart's ``deps`` must already be built for
    these days. Raises :class:`MartLayoutError` when the table has other columns than the SELECT.
    """
    started = time.perf_counter()
    _, start_day, end_day, cfg = prepare(con, name, start_day, end_day, settings)
    con.execute("BEGIN TRANSACTION")
    try:
        refresh_catalog(con)
        ensure_tables(con)  # a mart's deps exist (empty) even when they were never built
        compute(con, name, cfg)
        write_table(con, name)
        ensure_views(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute(f"SELECT count(*) FROM {ROWS_TABLE}").fetchall()[0][0]
    con.execute(f"DROP TABLE IF EXISTS temp.{ROWS_TABLE}")
    return MartResult(name, start_day, end_day, int(rows), time.perf_counter() - started)


def write_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Replace the bound days of table ``name`` by the rows of :data:`ROWS_TABLE` (create if missing)."""
    new = _columns(con, ROWS_TABLE, "temp")
    existing = _columns(con, name)
    if not existing:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {ROWS_TABLE} LIMIT 0")
    elif existing != new:
        raise MartLayoutError(
            f"table {name} was built by an older gatewaylens (its columns differ from sql/{name}.sql). "
            f"Rebuild the marts from requests: `gatewaylens build --all --rebuild` (drops and rebuilds every mart)."
        )
    con.execute(f"DELETE FROM {name} WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')")
    con.execute(f"INSERT INTO {name} SELECT * FROM {ROWS_TABLE}")


def build_all(
    con: duckdb.DuckDBPyConnection,
    start_day: dt.date,
    end_day: dt.date | None = None,
    settings: MartSettings | None = None,
    on_mart: Callable[[MartResult], None] | None = None,
) -> list[MartResult]:
    """Build every mart, in dependency order, for start_day..end_day."""
    results = []
    for name in MARTS:
        res = build_mart(con, name, start_day, end_day, settings)
        results.append(res)
        if on_mart is not None:
            on_mart(res)
    return results


def days_with_requests(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [r[0] for r in con.execute("SELECT DISTINCT day FROM requests ORDER BY day").fetchall()]


# ------------------------------------------------------------------------------------------
# documentation (parsed from the SQL files: the single source of truth)
# ------------------------------------------------------------------------------------------

_VIEW_COL = re.compile(r"^--\s*@col\s+([a-z_][a-z0-9_]*)\s*:\s*(.+?)\s*$")
# An output line of the final SELECT: "<expression ending in the column name>[,]  -- description".
_OUTPUT_LINE = re.compile(r"^(?P<code>.*?)\b(?P<col>[a-z_][a-z0-9_]*)\s*,?\s*--\s*(?P<doc>.+?)\s*$")


def _header(text: str) -> str:
    """The leading comment block of a SQL file (without '-- ' prefixes)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:]
        out.append(body[1:] if body.startswith(" ") else body)
    return "\n".join(out).strip()


def select_columns(text: str) -> dict[str, str]:
    """{column: description} of a mart file: the lines of its final SELECT (the last line starting
    with ``SELECT`` at column 0, up to the next line starting with ``FROM``) that end with a
    ``-- comment``; the column is the last identifier before it (``... AS name`` or ``t.name``)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("SELECT")]
    if not starts:
        return {}
    cols: dict[str, str] = {}
    for line in lines[starts[-1] + 1:]:
        if line.startswith("FROM"):
            break
        if line.lstrip().startswith("--"):
            continue
        m = _OUTPUT_LINE.match(line)
        if m:
            cols[m.group("col")] = m.group("doc")
    return cols


def mart_docs() -> dict[str, dict[str, str]]:
    """{table_or_view: {column: description}} for every mart, model_catalog and the views."""
    docs = {name: select_columns(sql_text(get(name).sql_file)) for name in MARTS}
    docs[CATALOG_TABLE] = dict(CATALOG_DOCS)
    docs[PROVIDER_TABLE] = dict(PROVIDER_DOCS)
    docs.update(view_docs())
    return docs


def mart_descriptions() -> dict[str, str]:
    """{table_or_view: header text (grain, definitions, caveats)} from the SQL files."""
    out = {name: _header(sql_text(get(name).sql_file)) for name in MARTS}
    out[CATALOG_TABLE] = (
        "Grain: one row per model. Rewritten before every mart build from the packaged "
        "src/gatewaylens/data/model_catalog.csv, extended/overridden by the CSV named in $GATEWAYLENS_CATALOG."
    )
    out[PROVIDER_TABLE] = (
        "Grain: one row per provider: what it publishes about the prompts it receives (retention, training, "
        "zero data retention, jurisdiction, hardware, quantization) with the source of every row. Rewritten before "
        "every mart build from the packaged src/gatewaylens/data/providers.csv (a starting point compiled from "
        "published policies: review it), extended/overridden by the CSV named in $GATEWAYLENS_PROVIDERS."
    )
    out.update({v: d for v, (d, _) in _views_parsed().items()})
    return out


def _views_parsed() -> dict[str, tuple[str, dict[str, str]]]:
    """Doc blocks of views.sql: '-- @view NAME', description lines, '-- @col NAME: description'."""
    parsed: dict[str, tuple[str, dict[str, str]]] = {}
    current = None
    for line in sql_text("views.sql").splitlines():
        if not line.startswith("--"):
            current = None
            continue
        m = re.match(r"^--\s*@view\s+([a-z_0-9]+)\s*$", line)
        if m:
            current = m.group(1)
            parsed[current] = ("", {})
            continue
        if current is None:
            continue
        desc, cols = parsed[current]
        c = _VIEW_COL.match(line)
        if c:
            cols[c.group(1)] = c.group(2)
        else:
            parsed[current] = ((desc + "\n" + line[2:].strip()).strip(), cols)
    return parsed


def view_docs() -> dict[str, dict[str, str]]:
    return {v: cols for v, (_, cols) in _views_parsed().items()}


def dictionary_markdown() -> str:
    """The data dictionary (docs/data-dictionary.md): base tables (schema.column_docs()), model_catalog, marts, views."""
    from gatewaylens.schema import TABLE_MODELS, column_docs

    lines: list[str] = []
    base = column_docs()
    lines.append("### Base tables\n")
    for table, cols in base.items():
        grain = (TABLE_MODELS[table].__doc__ or "").strip()
        lines.append(f"#### `{table}`\n\n{grain}\n")
        lines += ["| column | description |", "|---|---|"]
        lines += [f"| `{c}` | {d.replace('|', '/')} |" for c, d in cols.items()]
        lines.append("")
    docs, descs = mart_docs(), mart_descriptions()
    lines.append("### Marts, catalog and views\n")
    lines.append(
        "Rates are 0–1 fractions, tokens are counts, money is USD, times are milliseconds, days and "
        "hours are UTC. Counts are additive: roll up with `sum(numerator) / sum(denominator)`, never by "
        "averaging rate columns.\n"
    )
    for table in [*CATALOG_TABLES, *MARTS, *VIEWS]:
        lines.append(f"#### `{table}`\n")
        desc = descs.get(table, "")
        if desc:
            lines.append("\n".join(f"    {ln}" if ln else "" for ln in desc.splitlines()) + "\n")
        lines += ["| column | description |", "|---|---|"]
        lines += [f"| `{c}` | {d.replace('|', '/')} |" for c, d in docs[table].items()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def describe_frame(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """Columns and types of a mart as DuckDB sees them, with their descriptions (for the CLI/dashboard)."""
    if table not in MARTS and table not in VIEWS and table not in CATALOG_TABLES:
        raise ValueError(f"unknown mart or view {table!r}")
    frame = con.sql(
        "SELECT column_name AS column, data_type AS type FROM information_schema.columns "
        "WHERE table_name = $t ORDER BY ordinal_position",
        params={"t": table},
    ).pl()
    docs = mart_docs().get(table, {})
    return frame.with_columns(pl.col("column").replace_strict(docs, default="").alias("description"))
