"""Ingest speed per input format, against a bare scan baseline measured in the same run.

    .venv/bin/python benchmarks/formats.py [--lines 500000] [--formats openrouter,litellm,...] [--keep]

For each format, generates the same seeded traffic with the project's generator
(``--format NAME``), concatenates the day files into one file of about ``--lines`` lines, then
times:
  baseline  DuckDB reading the file's lines and parsing every one of them as JSON
            (``read_text`` + ``json_valid``... no: ``read_csv`` of whole lines +
            ``json_extract_string`` of one top-level key), i.e. a bare typed scan: one JSON parse
            per line, no validation, no writes;
  ingest    ``ingest_paths`` of the file into a fresh warehouse with per-line detection
            (validation, normalisation, dedupe, hashing, inserts, one transaction).
Prints lines/s for both and ingest's share of the baseline speed; the target is >= 250k lines/s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from gatewaylens import db as dbmod
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths

FORMATS = ("canonical", "openrouter", "litellm", "otel", "envelope", "mixed")
TARGET = 250_000


def build_file(fmt: str, lines: int, work: Path) -> tuple[Path, int]:
    """One JSONL file of about ``lines`` lines of ``fmt`` (generator output, seed 11)."""
    per_day = 10_000
    days = max(1, -(-lines // per_day))
    out = work / fmt
    generate(days=days, requests_per_day=per_day, seed=11, out=out, fmt=fmt)
    target = work / f"{fmt}.jsonl"
    n = 0
    with target.open("wb") as dst:
        for f in sorted(out.rglob("requests.jsonl")):
            data = f.read_bytes()
            dst.write(data)
            n += data.count(b"\n")
    shutil.rmtree(out)
    return target, n


def baseline_scan(path: Path) -> float:
    """Seconds for DuckDB to read every line and parse it as JSON once (one key extracted)."""
    con = duckdb.connect()
    started = time.perf_counter()
    con.sql(
        "SELECT count(json_extract_string(line, '$.x')), count(*) FROM read_csv(?, columns={'line': 'VARCHAR'}, "
        "header=false, delim=chr(1), quote='', escape='', max_line_size=2000000)",
        params=[str(path)],
    ).fetchall()
    con.close()
    return time.perf_counter() - started


def bench_ingest(path: Path, work: Path) -> tuple[float, int, int, int]:
    db = work / f"{path.stem}.duckdb"
    con = dbmod.connect(db)
    summary = ingest_paths(con, [path], salt="bench")
    con.close()
    db.unlink()
    return summary.seconds, summary.rows_inserted, summary.merged, summary.quarantined


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-bench-formats-"))
    rows = []
    try:
        for fmt in args.formats.split(","):
            path, n = build_file(fmt, args.lines, work)
            base = baseline_scan(path)
            secs, inserted, merged, quarantined = bench_ingest(path, work)
            rows.append((fmt, n, path.stat().st_size / n, n / base, n / secs, inserted, merged, quarantined))
            path.unlink()
            print(f"{fmt:<11} done", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'format':<11} {'lines':>9} {'bytes/line':>10} {'baseline l/s':>13} {'ingest l/s':>11} {'ingest/base':>11} "
          f"{'rows':>9} {'merged':>7} {'quar.':>5}")
    for fmt, n, bpl, base_lps, lps, inserted, merged, quarantined in rows:
        print(f"{fmt:<11} {n:>9,} {bpl:>10.0f} {base_lps:>13,.0f} {lps:>11,.0f} {lps / base_lps:>11.2f} "
              f"{inserted:>9,} {merged:>7,} {quarantined:>5}")
    slow = [r[0] for r in rows if r[4] < TARGET]
    print(f"target >= {TARGET:,} lines/s: " + ("met by every format" if not slow else "NOT met by " + ", ".join(slow)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
