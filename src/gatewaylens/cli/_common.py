"""Helpers shared by CLI commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from gatewaylens.config import settings

console = Console(stderr=True)
out = Console()

DbOption = typer.Option(None, "--db", help="Warehouse DuckDB file [default: $GATEWAYLENS_DB or data/gatewaylens.duckdb].")


def resolve_db(db: Path | None) -> Path:
    return db or settings().db


def fail(message: str, code: int = 2) -> None:
    """Print an error that says what is wrong and what to do, and exit (``message`` is printed literally)."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
