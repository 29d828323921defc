"""``gatewaylens generate``: realistic synthetic gateway logs with a truth.json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gatewaylens.cli import app
from gatewaylens.cli._common import console, fail, out


@app.command()
def generate(
    days: int = typer.Option(365, min=1, help="Number of UTC days."),
    requests_per_day: int = typer.Option(10_000, min=1, help="Average requests per day."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives byte-identical output."),
    out_dir: Path = typer.Option(Path("data/landing"), "--out", help="Output folder (DIR/YYYY/MM/DD/*.jsonl)."),
    start: str | None = typer.Option(None, help="First day, YYYY-MM-DD [default: so the last day is yesterday]."),
    bad_rate: float = typer.Option(0.0, min=0.0, max=0.5, help="Share of extra bad lines per day."),
    format: str = typer.Option("canonical", "--format", "-f", help="Output format."),
    otel_batch: int = typer.Option(1, "--otel-batch", min=1,
                                   help="With --format otel: requests per OTLP/JSON line (the collector batches traces)."),
    events: bool = typer.Option(True, "--events/--no-events",
                                help="Inject the scenario's regression events and traffic spikes (periods of 56+ days)."),
) -> None:
    """Write synthetic gateway logs that tell the adoption story (see truth.json)."""
    from gatewaylens.generator import generate as run

    start_day = None
    if start is not None:
        try:
            start_day = dt.date.fromisoformat(start)
        except ValueError:
            fail(f"--start {start!r} is not a date; use YYYY-MM-DD")
    with Progress(
        TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=days)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = run(days=days, requests_per_day=requests_per_day, seed=seed, out=out_dir, start=start_day,
                         bad_rate=bad_rate, fmt=format, progress=on_progress, otel_batch=otel_batch,
                         events=events)
        except ValueError as exc:
            fail(str(exc))
    out.print(f"wrote {result.rows:,} requests in {len(result.files)} files to {out_dir} in {result.seconds:.1f}s "
              f"(truth: {result.truth_path})")
