"""``gatewaylens ingest PATH... [--db FILE] [--format NAME]``."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gatewaylens import db as dbmod
from gatewaylens import formats
from gatewaylens.cli import app
from gatewaylens.cli._common import DbOption, console, fail, out, resolve_db
from gatewaylens.config import settings
from gatewaylens.ingest import IngestSummary, MissingPathError, find_input_files, ingest_files
from gatewaylens.salt import resolve_salt


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Log files or folders (recursive); plain or .gz."),
    db: Path | None = DbOption,
    format: str | None = typer.Option(None, "--format", "-f", help="Force one input format instead of detecting per line."),
    force: bool = typer.Option(False, help="Re-read files whose content was already ingested."),
) -> None:
    """Validate and load gateway logs into `requests` / `provider_attempts`; bad lines go to `quarantine`."""
    if format is not None and format not in formats.names():
        fail(f"unknown format {format!r}; choose one of: {', '.join(formats.names())}")
    try:
        files = find_input_files(paths)
    except MissingPathError as exc:
        fail(str(exc))
    cfg = settings()
    path = resolve_db(db)
    try:
        con = dbmod.connect(path)
    except dbmod.WarehouseLockedError:
        fail(f"{path} is locked by another writer (a Dagster run, or another ingest or build) and stayed locked for "
             f"{cfg.lock_wait_s:g} s (GATEWAYLENS_LOCK_WAIT_S): run this again when it has finished.", code=3)
    salt = resolve_salt(cfg.model_copy(update={"db": path}))
    if salt.notice():
        console.print(f"[yellow]note:[/] {salt.notice()}", soft_wrap=True)
    summary = IngestSummary()
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=len(files))
        def on_file(res) -> None:
            progress.update(task, description=res.path)
            progress.advance(task)

        summary.files = ingest_files(con, files, salt=salt.value, fmt=format, force=force, on_file=on_file)
    summary.seconds = time.perf_counter() - started
    con.close()
    out.print(
        f"files {len(summary.files)} ({summary.skipped} already ingested) | {summary.counts_text()} | "
        f"{summary.lines_per_second:,.0f} lines/s",
        soft_wrap=True,
    )
