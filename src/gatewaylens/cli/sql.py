"""``gatewaylens sql "SELECT ..." [--csv] [--db FILE]`` — read-only ad-hoc SQL.

Reads the serving snapshot (``GATEWAYLENS_SERVING``, published atomically by every pipeline run),
so it never waits for or disturbs a run that is writing the warehouse. With no snapshot yet it
falls back to the warehouse and says so (that fails while a run holds the write lock). ``--db``
reads any DuckDB file instead.

The statement goes through :mod:`gatewaylens.sqlguard` (one SELECT-like statement; no writes,
ATTACH, COPY, file or URL access) and runs on a read-only connection with a row and time limit.
Exit codes: 0 ok, 1 the query failed, 2 refused statement or no database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import polars as pl
import typer
from rich.table import Table

from gatewaylens import serving, sqlguard
from gatewaylens.cli import app
from gatewaylens.cli._common import console, fail, out
from gatewaylens.db import WarehouseLockedError


def render_table(frame: pl.DataFrame) -> Table:
    """A rich table of a frame (floats with 6 significant digits, NULL shown as NULL)."""
    table = Table(show_header=True, header_style="bold", show_lines=False)
    for name, dtype in zip(frame.columns, frame.dtypes):
        table.add_column(name, justify="right" if dtype.is_numeric() else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("NULL" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
    return table


@app.command()
def sql(
    query: str = typer.Argument(..., help='One read-only statement, e.g. "SELECT * FROM v_adoption_monthly".'),
    csv: bool = typer.Option(False, "--csv", help="Print CSV (header + rows) instead of a table."),
    db: Path | None = typer.Option(
        None, "--db", help="DuckDB file to read [default: the serving snapshot, else the warehouse]."
    ),
    limit: int = typer.Option(sqlguard.DEFAULT_ROW_LIMIT, "--limit", min=1, help="Most rows returned."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, help="Seconds before the query is stopped."),
) -> None:
    """Run a read-only SQL query on the serving snapshot and print the result."""
    path, is_snapshot = serving.reading_path(db)
    if db is None and not is_snapshot:
        console.print(
            f"[yellow]note:[/] no serving snapshot at {serving.settings().serving_path} yet; reading the "
            f"warehouse {path} (fails while a pipeline run is writing it). `make demo` or a Dagster run publishes one."
        )
    try:
        result = sqlguard.run_guarded(path, query, row_limit=limit, time_limit_s=timeout)
    except FileNotFoundError as exc:
        fail(str(exc), code=2)
    except sqlguard.RefusedStatement as exc:
        fail(f"{exc}", code=2)
    except WarehouseLockedError as exc:
        fail(f"{exc} Or read the serving snapshot (drop --db).", code=1)
    except TimeoutError as exc:
        fail(str(exc), code=1)
    except duckdb.Error as exc:
        fail(
            f"the query failed: {exc}\nList tables with: gatewaylens sql \"SELECT table_name FROM "
            "information_schema.tables\"; columns with: gatewaylens sql \"DESCRIBE <table>\".",
            code=1,
        )
    frame = result.frame
    if csv:
        sys.stdout.write(frame.write_csv())
        sys.stdout.flush()
    else:
        out.print(render_table(frame))
        console.print(f"{frame.height:,} row(s) in {result.seconds * 1000:.0f} ms from {path}")
    if result.truncated:
        console.print(f"[yellow]note:[/] only the first {limit:,} rows are shown; raise --limit or aggregate.")
