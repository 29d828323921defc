"""``gatewaylens build --day D | --start D [--end D] | --all [--db FILE]``: (re)build the metric marts,
through the storage seam (:mod:`gatewaylens.storage`) as the Dagster mart assets: in the DuckDB
file, or with ``GATEWAYLENS_STORAGE=lake`` as partition files of the lake (on Spark with
``GATEWAYLENS_ENGINE=spark``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gatewaylens import db as dbmod
from gatewaylens import storage
from gatewaylens.cli import app
from gatewaylens.cli._common import DbOption, console, fail, out, parse_day, storage_settings


@app.command()
def build(
    day: str | None = typer.Option(None, "--day", help="Build one UTC day (YYYY-MM-DD)."),
    start: str | None = typer.Option(None, "--start", help="First day of a range (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last day of a range [default: --start]."),
    all_days: bool = typer.Option(False, "--all", help="Every day that has requests."),
    only: list[str] | None = typer.Option(None, "--mart", help="Build only this mart (repeatable; its dependencies "
                                          "must be built already) [default: every mart]."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop every mart first (after an upgrade changed their columns)."),
    db: Path | None = DbOption,
) -> None:
    """Build every metric mart (in dependency order) for the given days, through the same
    functions the Dagster assets call, where GATEWAYLENS_STORAGE / GATEWAYLENS_ENGINE say."""
    from gatewaylens import marts  # (here, not at import: polars would cost every CLI command ~0.3 s)

    chosen = sum(x is not None and x is not False for x in (day, start, all_days or None))
    if chosen != 1:
        fail("give exactly one of --day D, --start D [--end D] or --all")
    if end is not None and start is None:
        fail("--end needs --start")
    cfg = storage_settings(db)
    unknown = sorted(set(only or ()) - set(marts.MARTS))
    if unknown:
        fail(f"unknown mart {unknown[0]!r}; choose from: {', '.join(marts.MARTS)}")
    if only and rebuild:
        fail("--rebuild drops every mart: give it without --mart")
    names = [m for m in marts.MARTS if not only or m in only]
    where = storage.where(cfg)
    if all_days and cfg.storage == "duckdb" and not cfg.db.exists():
        fail(f"no database at {cfg.db}: run `gatewaylens ingest` first, or pass --db")
    if rebuild:
        storage.drop_marts(cfg)
    try:
        con = storage.connect(cfg)
    except dbmod.WarehouseLockedError:
        fail(f"{cfg.db} is locked by another writer (a Dagster run, or another ingest or build) and stayed locked for "
             f"{cfg.lock_wait_s:g} s (GATEWAYLENS_LOCK_WAIT_S): run this again when it has finished.", code=3)
    try:
        if all_days:
            days = marts.days_with_requests(con)
            if not days:
                fail(f"{where} has no requests: run `gatewaylens ingest PATH` first")
            first, last = days[0], days[-1]
        elif day is not None:
            first = last = parse_day(day, "--day")
        else:
            first = parse_day(start, "--start")
            last = parse_day(end, "--end") or first
            if last < first:
                fail(f"--end {last} is before --start {first}")
        n = con.execute("SELECT count(*) FROM requests WHERE day BETWEEN ? AND ?", [first, last]).fetchall()[0][0]
        if n == 0:
            console.print(f"[yellow]note:[/] no requests between {first} and {last}; the marts will have no rows for them.")
        table = Table(title=f"marts {first}..{last} ({n:,} requests) in {where}"
                      + (" on Spark" if cfg.engine == "spark" else ""))
        for col in ("mart", "rows", "seconds"):
            table.add_column(col, justify="left" if col == "mart" else "right")
        with Progress(
            TextColumn("[bold]build"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), console=console, transient=True,
        ) as progress:
            task = progress.add_task("", total=len(names))
            total = 0.0
            for name in names:
                progress.update(task, description=name)
                try:
                    res = storage.build_mart(con, name, first, last, cfg)
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
