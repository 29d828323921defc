"""Realistic LLM-gateway traffic generator (library code: no Dagster/Streamlit).

``generate(...)`` simulates the period (:mod:`.simulate`), writes it in a log format
(:mod:`.writers`) and records every injected parameter in ``DIR/truth.json`` (:mod:`.truth`).
The injected scenario (apps, models, providers, degraded pairs, outages, trends) lives in
:mod:`.scenario`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gatewaylens.generator.simulate import Simulation, curve, default_start, simulate
from gatewaylens.generator.writers import BAD_KINDS, canonical_lines, get_writer

__all__ = [
    "BAD_KINDS",
    "GenerateResult",
    "Simulation",
    "canonical_lines",
    "curve",
    "default_start",
    "generate",
    "simulate",
]


@dataclass
class GenerateResult:
    files: list[Path]  # day files written, in date order
    rows: int  # good requests written (= days * requests_per_day)
    seconds: float
    truth_path: Path
    bad_lines: int = 0  # extra bad lines mixed in (duplicates included)
    bad_counts: dict[str, int] = field(default_factory=dict)


def generate(
    days: int,
    requests_per_day: int,
    seed: int,
    out: Path,
    start: dt.date | None = None,
    bad_rate: float = 0.0,
    fmt: str = "canonical",
    progress: Callable[[int, int], None] | None = None,
    otel_batch: int = 1,
    events: bool = True,
) -> GenerateResult:
    """Generate ``days`` days of traffic into ``out`` and write ``out/truth.json``.

    ``start`` defaults to today (UTC) minus ``days``, so the last day is yesterday. Total good
    requests = ``days * requests_per_day`` exactly. ``bad_rate`` adds that fraction of extra
    malformed/duplicate lines to each day's file. ``progress(days_done, days_total)`` is called
    after each month. ``otel_batch`` (``fmt="otel"`` only) writes that many requests per OTLP/JSON
    line, as the collector's file exporter batches traces. ``events`` injects the scenario's
    regression events and traffic spikes (periods of ``EVENTS_MIN_DAYS``+ days; recorded in
    truth.json). Same arguments -> byte-identical files.
    """
    if not 0.0 <= bad_rate <= 1.0:
        raise ValueError("bad_rate must be within [0, 1]")
    writer = get_writer(fmt, otel_batch=otel_batch)
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(days, requests_per_day, seed, start, events=events)
    counts: Counter = Counter()
    files: list[Path] = []
    rows = 0
    done = 0
    for frame in sim.chunks():
        files.extend(writer(frame, out, bad_rate=bad_rate, seed=seed, bad_counts=counts))
        rows += frame.height
        done += frame["day"].n_unique()
        if progress is not None:
            progress(done, sim.days)
    truth = sim.truth()
    truth["format"] = fmt
    if otel_batch != 1:
        truth["otel_batch"] = otel_batch
    truth["bad_rate"] = bad_rate
    truth["duplicate_lines"] = int(counts.get("duplicate", 0))
    truth["bad_lines"] = {k: int(counts.get(k, 0)) for k in BAD_KINDS if k != "duplicate"}
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n")
    return GenerateResult(
        files=files,
        rows=rows,
        seconds=time.perf_counter() - t0,
        truth_path=truth_path,
        bad_lines=int(sum(counts.values())),
        bad_counts=dict(counts),
    )
