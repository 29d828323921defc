"""Metric marts: one ``sql/<name>.sql`` file per table, built per UTC day.

Each mart file is runnable as-is in the DuckDB CLI once the day range and the settings are
bound (``gatewaylens.marts.bind_sql()`` prints the ``SET VARIABLE`` lines)::

    SET VARIABLE start_day = DATE '2026-01-15';
    SET VARIABLE end_day = DATE '2026-01-15';
    SET VARIABLE variance_window_days = 7;  -- ... see MartSettings
    .read src/gatewaylens/sql/tool_call_rate_daily.sql

A file creates its table if missing, deletes the rows of the bound days and inserts them again
from ``requests`` / ``provider_attempts`` (or from marts listed before it in :data:`MARTS`) —
so a build touches only its days and re-running it is idempotent. Each day's rows depend only
on that day's requests, except ``provider_variance`` (a trailing window that reads the previous
``variance_window_days - 1`` days) and ``provider_ranking`` (built from ``provider_variance``).

The CLI (``gatewaylens build``) and the Dagster assets both call :func:`build_mart`, which also
refreshes the ``model_catalog`` table (packaged CSV + ``$GATEWAYLENS_CATALOG``) and the analyst
views of ``sql/views.sql``. Every mart table has a ``day`` column (its partition).

Column documentation lives next to each column in the ``CREATE TABLE`` of its SQL file (a
trailing ``-- comment``); :func:`mart_docs` parses it, the data dictionary (docs/data-dictionary.md) is generated
from it (:func:`dictionary_markdown`), so the SQL file is the single source of truth.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl
from pydantic import BaseModel, Field, model_validator

from gatewaylens.catalog import load_catalog
from gatewaylens.db import sql_text

# Marts in dependency order (a mart may read marts listed before it).
MARTS: list[str] = [
    "tool_call_rate_daily",
    "reasoning_share_daily",
    "cost_daily",
    "model_mix_daily",
    "app_model_mix_daily",
    "provider_variance_daily",
    "provider_variance",
    "provider_ranking",
    "provider_uptime_daily",
    "provider_uptime_hourly",
    "load_hourly",
    "load_minutely",
    "load_profile_daily",
]

VIEWS: list[str] = ["v_requests", "v_adoption_monthly"]

CATALOG_TABLE = "model_catalog"


class MartSettings(BaseModel):
    """Settings the mart SQL reads with ``getvariable(name)``. Environment overrides:
    ``GATEWAYLENS_<NAME>`` (upper case), e.g. ``GATEWAYLENS_VARIANCE_WINDOW_DAYS=14``."""

    variance_window_days: int = Field(
        default=7, ge=1, le=90,
        description="Trailing window of provider_variance, in days (window_end included).",
    )
    practical_threshold: float = Field(
        default=0.02, gt=0, lt=1,
        description="Minimum |rate_delta| (absolute, 0-1 scale: 0.02 = 2 percentage points) for a "
        "significant difference to be flagged; applies to tool-call and error rates.",
    )
    alpha: float = Field(
        default=0.05, gt=0, lt=1,
        description="Family-wise error rate of the Holm correction (per window_end day and metric).",
    )
    min_requests: int = Field(
        default=30, ge=1,
        description="Minimum denominator of a pair and of its reference for a p-value to be computed.",
    )
    batch_window_start_hour: int = Field(default=1, ge=0, le=23, description="Batch window start, UTC hour (inclusive).")
    batch_window_end_hour: int = Field(default=3, ge=1, le=24, description="Batch window end, UTC hour (exclusive).")

    @model_validator(mode="after")
    def _window_order(self) -> "MartSettings":
        if self.batch_window_end_hour <= self.batch_window_start_hour:
            raise ValueError(
                f"batch window end hour ({self.batch_window_end_hour}) must be after its start hour "
                f"({self.batch_window_start_hour})"
            )
        return self


def mart_settings() -> MartSettings:
    """Mart settings: defaults overridden by ``GATEWAYLENS_<FIELD>`` environment variables."""
    values = {}
    for name in MartSettings.model_fields:
        raw = os.environ.get(f"GATEWAYLENS_{name.upper()}")
        if raw not in (None, ""):
            values[name] = raw
    try:
        return MartSettings.model_validate(values)
    except ValueError as exc:
        raise ValueError(f"invalid mart setting in the environment (GATEWAYLENS_*): {exc}") from None


@dataclass
class MartResult:
    name: str
    start_day: dt.date
    end_day: dt.date
    rows: int
    seconds: float


def split_statements(text: str) -> list[str]:
    """Split a SQL file on ';' at line ends (our files keep one statement per ';\\n')."""
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
}


def refresh_catalog(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write table ``model_catalog`` from the packaged CSV + ``$GATEWAYLENS_CATALOG``.
    Returns the number of models. Does not open or commit a transaction of its own."""
    frame = load_catalog()
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (
            model VARCHAR NOT NULL, vendor VARCHAR, tier VARCHAR NOT NULL,
            input_usd_per_mtok DOUBLE, output_usd_per_mtok DOUBLE, cached_input_usd_per_mtok DOUBLE,
            reports_reasoning VARCHAR)"""
    )
    con.register("_gl_catalog", frame.to_arrow())
    try:
        con.execute(f"DELETE FROM {CATALOG_TABLE}")
        con.execute(
            f"""INSERT INTO {CATALOG_TABLE}
                SELECT model, vendor, tier, input_usd_per_mtok, output_usd_per_mtok,
                       cached_input_usd_per_mtok, reports_reasoning FROM _gl_catalog"""
        )
    finally:
        con.unregister("_gl_catalog")
    return frame.height


class MartLayoutError(RuntimeError):
    """A mart table in the database has other columns than its SQL file declares (older version)."""


def _create_statement(name: str) -> str:
    for stmt in split_statements(sql_text(f"{name}.sql")):
        if stmt.lstrip().upper().startswith("CREATE TABLE IF NOT EXISTS"):
            return stmt
    raise AssertionError(f"{name}.sql has no CREATE TABLE IF NOT EXISTS")


def _columns(con: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = ? ORDER BY ordinal_position", [table, schema]).fetchall()]


def check_layout(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Raise :class:`MartLayoutError` when table ``name`` exists with columns other than its file's."""
    existing = _columns(con, name)
    if not existing:
        return
    stmt = _create_statement(name).replace(f"IF NOT EXISTS {name} ", "_gl_expected ", 1)
    con.execute("DROP TABLE IF EXISTS temp._gl_expected")
    con.execute(stmt.replace("CREATE TABLE _gl_expected", "CREATE TEMP TABLE _gl_expected", 1))
    expected = _columns(con, "_gl_expected", "main") or [
        tuple(r) for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = '_gl_expected' ORDER BY ordinal_position").fetchall()]
    con.execute("DROP TABLE IF EXISTS temp._gl_expected")
    if existing != expected:
        raise MartLayoutError(
            f"table {name} was built by an older gatewaylens (its columns differ from sql/{name}.sql). "
            f"Rebuild the marts from requests: `gatewaylens build --all --rebuild` (drops and rebuilds every mart)."
        )


def drop_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every mart table and view (``build --rebuild``); base tables are untouched."""
    for view in VIEWS:
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for name in reversed(MARTS):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every mart table that is missing (the ``CREATE TABLE IF NOT EXISTS`` of each file)."""
    for name in MARTS:
        con.execute(_create_statement(name))


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the analyst views of ``sql/views.sql`` (needs every mart table and the catalog)."""
    ensure_tables(con)
    for stmt in split_statements(sql_text("views.sql")):
        con.execute(stmt)


# ------------------------------------------------------------------------------------------
# build
# ------------------------------------------------------------------------------------------

def _score_variance(con: duckdb.DuckDBPyConnection, name: str, cfg: MartSettings) -> None:
    from gatewaylens.stats import score_provider_variance

    score_provider_variance(con, name, cfg)


# Python steps that run after a mart's SQL, in the same transaction (statistics DuckDB lacks).
POSTPROCESS: dict[str, Callable[[duckdb.DuckDBPyConnection, str, MartSettings], None]] = {
    "provider_variance_daily": _score_variance,
    "provider_variance": _score_variance,
}


def build_mart(
    con: duckdb.DuckDBPyConnection,
    name: str,
    start_day: dt.date,
    end_day: dt.date | None = None,
    settings: MartSettings | None = None,
) -> MartResult:
    """(Re)build mart ``name`` for the days start_day..end_day (inclusive) in one transaction.

    Also refreshes ``model_catalog`` and the views. Marts listed before ``name`` in
    :data:`MARTS` must already be built for these days when ``name`` reads them.
    """
    if name not in MARTS:
        raise ValueError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    end_day = end_day or start_day
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    started = time.perf_counter()
    cfg = bind_settings(con, settings)
    bind_days(con, start_day, end_day)
    check_layout(con, name)
    con.execute("BEGIN TRANSACTION")
    try:
        refresh_catalog(con)
        for stmt in split_statements(sql_text(f"{name}.sql")):
            con.execute(stmt)
        if name in POSTPROCESS:
            POSTPROCESS[name](con, name, cfg)
        ensure_views(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute(
        f"SELECT count(*) FROM {name} WHERE day BETWEEN getvariable('start_day') AND getvariable('end_day')"
    ).fetchall()[0][0]
    return MartResult(name, start_day, end_day, int(rows), time.perf_counter() - started)


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

_COLUMN_LINE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+[A-Z][A-Z0-9_\[\]() ,]*?(?:NOT NULL)?\s*,?\s*--\s*(.+?)\s*$")
_VIEW_COL = re.compile(r"^--\s*@col\s+([a-z_][a-z0-9_]*)\s*:\s*(.+?)\s*$")


def _header(text: str) -> str:
    """The leading comment block of a SQL file (without '-- ' prefixes)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:]
        out.append(body[1:] if body.startswith(" ") else body)
    return "\n".join(out).strip()


def _table_columns(text: str, table: str) -> dict[str, str]:
    cols: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        if line.strip().upper().startswith("CREATE TABLE IF NOT EXISTS") and table in line:
            inside = True
            continue
        if inside:
            if line.strip().startswith(");") or line.strip() == ")":
                break
            m = _COLUMN_LINE.match(line)
            if m:
                cols[m.group(1)] = m.group(2)
    return cols


def mart_docs() -> dict[str, dict[str, str]]:
    """{table_or_view: {column: description}} for every mart, model_catalog and the views."""
    docs = {name: _table_columns(sql_text(f"{name}.sql"), name) for name in MARTS}
    docs[CATALOG_TABLE] = dict(CATALOG_DOCS)
    docs.update(view_docs())
    return docs


def mart_descriptions() -> dict[str, str]:
    """{table_or_view: header text (grain, definitions, caveats)} from the SQL files."""
    out = {name: _header(sql_text(f"{name}.sql")) for name in MARTS}
    out[CATALOG_TABLE] = (
        "Grain: one row per model. Rewritten before every mart build from the packaged "
        "src/gatewaylens/data/model_catalog.csv, extended/overridden by the CSV named in $GATEWAYLENS_CATALOG."
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
    for table in [CATALOG_TABLE, *MARTS, *VIEWS]:
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
    if table not in MARTS and table not in VIEWS and table != CATALOG_TABLE:
        raise ValueError(f"unknown mart or view {table!r}")
    frame = con.sql(
        "SELECT column_name AS column, data_type AS type FROM information_schema.columns "
        "WHERE table_name = $t ORDER BY ordinal_position",
        params={"t": table},
    ).pl()
    docs = mart_docs().get(table, {})
    return frame.with_columns(pl.col("column").replace_strict(docs, default="").alias("description"))
