"""``gatewaylens ingest PATH... [--db FILE] [--format NAME] [--source DAY]``: through the storage seam
(:mod:`gatewaylens.storage`), as the Dagster ``requests`` asset: the DuckDB file, or with
``GATEWAYLENS_STORAGE=lake`` the lake (one source per landing day; ``GATEWAYLENS_ENGINE=spark``
stages the days on Spark)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gatewaylens import db as dbmod
from gatewaylens import formats, storage
from gatewaylens.cli import app
from gatewaylens.cli._common import DbOption, console, fail, out, parse_day, storage_settings
from gatewaylens.ingest import IngestSummary, MissingPathError, find_input_files


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Log files or folders (recursive); plain or .gz."),
    db: Path | None = DbOption,
    format: str | None = typer.Option(None, "--format", "-f", help="Force one input format instead of detecting per line."),
    force: bool = typer.Option(False, help="Re-read files whose content was already ingested (the lake always "
                               "re-reads a landing day whole)."),
    source: str | None = typer.Option(None, "--source", help="Lake storage: the landing day (YYYY-MM-DD) of files "
                                      "outside a landing folder YYYY/MM/DD/ [default: from each file's folder]."),
) -> None:
    """Validate and load gateway logs into `requests` / `provider_attempts`; bad lines go to `quarantine`.
    Writes where GATEWAYLENS_STORAGE says: the DuckDB file, or the lake (a landing day at a time)."""
    if format is not None and format not in formats.names():
        fail(f"unknown format {format!r}; choose one of: {', '.join(formats.names())}")
    try:
        files = find_input_files(paths)
    except MissingPathError as exc:
        fail(str(exc))
    cfg = storage_settings(db)
    by_day = {None: files}
    if cfg.storage == "lake":
        try:
            by_day = storage.group_by_landing_day(files, parse_day(source, "--source"))
        except storage.LandingError as exc:
            fail(str(exc))
    elif source is not None:
        fail("--source is for lake storage (GATEWAYLENS_STORAGE=lake); the DuckDB file takes files as they are")
    try:
        con = storage.connect(cfg)
    except dbmod.WarehouseLockedError:
        fail(f"{cfg.db} is locked by another writer (a Dagster run, or another ingest or build) and stayed locked for "
             f"{cfg.lock_wait_s:g} s (GATEWAYLENS_LOCK_WAIT_S): run this again when it has finished.", code=3)
    salt = storage.resolve_salt(cfg)
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

        summary.files = storage.ingest_days(con, by_day, salt=salt.value, on_file=on_file, cfg=cfg, fmt=format,
                                            force=force)
    summary.seconds = time.perf_counter() - started
    con.close()
    out.print(
        f"{storage.where(cfg)}: files {len(summary.files)} ({summary.skipped} already ingested) | {summary.counts_text()} | "
        f"{summary.lines_per_second:,.0f} lines/s",
        soft_wrap=True,
    )
