"""``gatewaylens sql "SELECT ..." [--format table|csv|json] [--db FILE]`` — read-only ad-hoc SQL.

Reads the serving snapshot (``GATEWAYLENS_SERVING``, published atomically by every pipeline run),
so it never waits for or disturbs a run that is writing the warehouse. With no snapshot yet it
falls back to the warehouse and says so (that fails while a run holds the write lock). ``--db``
reads any DuckDB file instead.

The statement goes through :mod:`gatewaylens.sqlguard` (one SELECT-like statement; no writes,
ATTACH, COPY, file or URL access) and runs in a worker process of its own with the console's
limits (rows, result bytes, wall-clock time, memory, threads; see docs/operations.md).

Output is written literally (stored text is never interpreted as markup): ``table`` draws the
DuckDB CLI's box fitted to the terminal (columns that do not fit are elided), or a plain aligned
table with every column when stdout is not a terminal; ``csv`` JSON-encodes nested values;
``json`` is an array of row objects. Exit codes: 0 ok, 1 the query failed or was stopped, 2
refused statement or no database.
"""

from __future__ import annotations

import shutil
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.markup import escape

from gatewaylens import sqlguard
from gatewaylens.cli import app
from gatewaylens.cli._common import console, fail
from gatewaylens.db import WarehouseLockedError


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def render(frame, fmt: Format, *, width: int | None, tty: bool) -> str:
    """The text written to stdout for ``frame`` in ``fmt``."""
    from gatewaylens import results  # (here, not at import: polars would cost every CLI command ~0.3 s)

    if fmt is Format.csv:
        return results.csv_text(frame)
    if fmt is Format.json:
        return results.json_text(frame)
    if width is None and tty:
        width = shutil.get_terminal_size((100, 24)).columns
    return results.box_table(frame, width=width, plain=not tty)


@app.command()
def sql(
    query: str = typer.Argument(..., help='One read-only statement, e.g. "SELECT * FROM v_adoption_monthly".'),
    fmt: Format = typer.Option(
        Format.table, "--format", "-f", help="table (fitted to the terminal; plain when piped), csv or json."
    ),
    csv: bool = typer.Option(False, "--csv", help="Same as --format csv."),
    width: int | None = typer.Option(
        None, "--width", min=20, help="Fit the table into this many columns [default: the terminal's; unlimited when piped]."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="DuckDB file to read [default: the serving snapshot, else the warehouse]."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Most rows returned [default: GATEWAYLENS_CONSOLE_ROW_LIMIT, 10 000]."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0.1, help="Seconds before the query is stopped [default: GATEWAYLENS_CONSOLE_TIMEOUT_S, 15]."
    ),
) -> None:
    """Run a read-only SQL query on the serving snapshot and print the result."""
    from gatewaylens import serving

    if csv:
        fmt = Format.csv
    path, is_snapshot = serving.reading_path(db)
    if db is None and not is_snapshot:
        console.print(
            f"[yellow]note:[/] no serving snapshot at {escape(str(serving.settings().serving_path))} yet; reading "
            f"the warehouse {escape(str(path))} (fails while a pipeline run is writing it). `make demo` or a Dagster "
            "run publishes one."
        )
    try:
        result = sqlguard.run_guarded(path, query, row_limit=limit, time_limit_s=timeout, prewarm=False)
    except FileNotFoundError as exc:
        fail(str(exc), code=2)
    except sqlguard.RefusedStatement as exc:
        fail(f"{exc}", code=2)
    except WarehouseLockedError as exc:
        fail(f"{exc} Or read the serving snapshot (drop --db).", code=1)
    except (TimeoutError, sqlguard.MemoryLimitExceeded) as exc:
        fail(str(exc), code=1)
    except sqlguard.QueryFailed as exc:
        fail(
            f"the query failed: {exc}\nList tables with: gatewaylens sql \"SELECT table_name FROM "
            "information_schema.tables\"; columns with: gatewaylens sql \"DESCRIBE <table>\".",
            code=1,
        )
    frame = result.frame
    sys.stdout.write(render(frame, fmt, width=width, tty=sys.stdout.isatty()))
    sys.stdout.flush()
    if fmt is Format.table:
        console.print(f"{result.seconds * 1000:.0f} ms, read from {escape(str(path))}")
    if result.truncated_by == "rows":
        console.print(f"[yellow]note:[/] only the first {result.row_limit:,} rows are shown; raise --limit or aggregate.")
    elif result.truncated_by == "bytes":
        console.print(
            f"[yellow]note:[/] the result was cut at {result.byte_limit / sqlguard.MIB:g} MiB "
            f"({frame.height:,} rows); GATEWAYLENS_CONSOLE_RESULT_MB raises the cap, or select fewer columns."
        )
