"""Helpers shared by CLI commands."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from gatewaylens.config import Settings, settings

console = Console(stderr=True)
out = Console()

DbOption = typer.Option(None, "--db", help="Warehouse DuckDB file [default: $GATEWAYLENS_DB or data/gatewaylens.duckdb].")


def resolve_db(db: Path | None) -> Path:
    return db or settings().db


def storage_settings(db: Path | None) -> Settings:
    """The settings of a writing command: ``--db`` names the warehouse file (DuckDB storage only; in
    lake storage the warehouse is ``GATEWAYLENS_LAKE``)."""
    try:
        cfg = settings()
    except ValueError as exc:  # e.g. GATEWAYLENS_ENGINE=spark without GATEWAYLENS_STORAGE=lake
        fail(str(exc))
    if cfg.engine == "spark" and importlib.util.find_spec("pyspark") is None:
        from gatewaylens.engines.spark import MISSING

        fail(MISSING)
    if db is not None and cfg.storage == "lake":
        fail(f"--db names a DuckDB warehouse file, but GATEWAYLENS_STORAGE=lake writes to the lake {cfg.lake}; "
             "drop --db, or set GATEWAYLENS_STORAGE=duckdb")
    return cfg.model_copy(update={"db": db}) if db is not None else cfg


def parse_day(value: str | None, flag: str) -> dt.date | None:
    """A YYYY-MM-DD option, or None when not given."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")
    return None


def fail(message: str, code: int = 2) -> None:
    """Print an error that says what is wrong and what to do, and exit (``message`` is printed literally)."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
