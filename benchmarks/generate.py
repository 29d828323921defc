"""Benchmark: generate one year at 10k requests/day (3.65M rows) in canonical JSONL.

Usage: .venv/bin/python benchmarks/generate.py [--days 365] [--rpd 10000] [--bad-rate 0] [--keep DIR]
Prints wall seconds and rows/s. Target: < 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from gatewaylens.generator import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rpd", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bad-rate", type=float, default=0.0)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = ap.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="gatewaylens-bench-"))
    try:
        res = generate(args.days, args.rpd, args.seed, out, start=dt.date(2025, 1, 1), bad_rate=args.bad_rate)
        size = sum(p.stat().st_size for p in res.files)
        print(
            f"generated {res.rows:,} rows in {len(res.files)} files ({size / 2**20:,.0f} MiB) "
            f"in {res.seconds:.1f} s = {res.rows / res.seconds:,.0f} rows/s"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
