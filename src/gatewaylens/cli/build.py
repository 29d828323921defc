"""``gatewaylens build --day D | --start D [--end D] | --all [--db FILE]``: (re)build the metric marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.cli import app
from gatewaylens.cli._common import DbOption, console, fail, out, resolve_db


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")
    return None


@app.command()
def build(
    day: str | None = typer.Option(None, "--day", help="Build one UTC day (YYYY-MM-DD)."),
    start: str | None = typer.Option(None, "--start", help="First day of a range (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last day of a range [default: --start]."),
    all_days: bool = typer.Option(False, "--all", help="Every day that has requests."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop every mart table first (after an upgrade changed their columns)."),
    db: Path | None = DbOption,
) -> None:
    """Build every metric mart (in dependency order) for the given days, through the same
    functions the Dagster assets call."""
    chosen = sum(x is not None and x is not False for x in (day, start, all_days or None))
    if chosen != 1:
        fail("give exactly one of --day D, --start D [--end D] or --all")
    if end is not None and start is None:
        fail("--end needs --start")
    try:
        cfg = marts.mart_settings()
    except ValueError as exc:
        fail(str(exc))
    path = resolve_db(db)
    if all_days and not path.exists():
        fail(f"no database at {path}: run `gatewaylens ingest` first, or pass --db")
    con = dbmod.connect(path)
    try:
        if all_days:
            days = marts.days_with_requests(con)
            if not days:
                fail(f"{path} has no requests: run `gatewaylens ingest PATH --db {path}` first")
            first, last = days[0], days[-1]
        elif day is not None:
            first = last = _date(day, "--day")
        else:
            first = _date(start, "--start")
            last = _date(end, "--end") or first
            if last < first:
                fail(f"--end {last} is before --start {first}")
        n = con.execute("SELECT count(*) FROM requests WHERE day BETWEEN ? AND ?", [first, last]).fetchall()[0][0]
        if n == 0:
            console.print(f"[yellow]note:[/] no requests between {first} and {last}; the marts will have no rows for them.")
        if rebuild:
            marts.drop_marts(con)
        table = Table(title=f"marts {first}..{last} ({n:,} requests) in {path}")
        for col in ("mart", "rows", "seconds"):
            table.add_column(col, justify="left" if col == "mart" else "right")
        with Progress(
            TextColumn("[bold]build"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), console=console, transient=True,
        ) as progress:
            task = progress.add_task("", total=len(marts.MARTS))
            total = 0.0
            for name in marts.MARTS:
                progress.update(task, description=name)
                try:
                    res = marts.build_mart(con, name, first, last, cfg)
                except marts.MartLayoutError as exc:
                    fail(str(exc))
                except duckdb.Error as exc:
                    fail(f"building {name} for {first}..{last} failed: {exc}", code=1)
                total += res.seconds
                table.add_row(name, f"{res.rows:,}", f"{res.seconds:.2f}")
                progress.advance(task)
        table.add_row("[bold]total", "", f"[bold]{total:.2f}")
        out.print(table)
    finally:
        con.close()
