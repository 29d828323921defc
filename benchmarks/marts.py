"""Benchmark: build every mart for ONE new day when 365 days already exist vs when 1 day exists.

Usage: .venv/bin/python benchmarks/marts.py [--days 365] [--rpd 3000] [--repeat 5]

Generates days+1 days with the project's generator. Warehouse A holds the first `days` days
(marts built for all of them, as one range build); warehouse B holds only day `days` (marts
built). Then the same new day (day days+1) is ingested into both and `build_all(new_day)` is
timed `repeat` times in each (a rebuild of a day is idempotent); medians are compared.
Target: ratio <= 1.3 (incremental: a day's build does not grow with history).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths

START = dt.date(2025, 1, 1)


def _day_files(files: list[Path], day: dt.date) -> list[Path]:
    tail = f"{day:%Y}/{day:%m}/{day:%d}"
    return [f for f in files if tail in f.as_posix()]


def _time_new_day(con, day: dt.date, repeat: int) -> float:
    marts.build_all(con, day)  # warm-up (first build of the day, caches, scipy import)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        marts.build_all(con, day)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rpd", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gatewaylens-bench-marts-"))
    try:
        t0 = time.perf_counter()
        res = generate(args.days + 1, args.rpd, 11, tmp / "landing", start=START)
        last_old = START + dt.timedelta(days=args.days - 1)
        new_day = START + dt.timedelta(days=args.days)
        old_files = [f for f in res.files if f not in _day_files(res.files, new_day)]
        print(f"generated {res.rows:,} requests over {args.days + 1} days in {time.perf_counter() - t0:.1f}s")

        big = dbmod.connect(tmp / "year.duckdb")
        t0 = time.perf_counter()
        ingest_paths(big, old_files, salt="bench")
        marts.build_all(big, START, last_old)
        print(f"warehouse A: {args.days} days ingested and built in {time.perf_counter() - t0:.1f}s")
        small = dbmod.connect(tmp / "one.duckdb")
        ingest_paths(small, _day_files(res.files, last_old), salt="bench")
        marts.build_all(small, last_old)

        for con in (big, small):
            ingest_paths(con, _day_files(res.files, new_day), salt="bench")
        with_year = _time_new_day(big, new_day, args.repeat)
        with_one = _time_new_day(small, new_day, args.repeat)
        n_big = big.execute("SELECT count(*) FROM requests").fetchall()[0][0]
        n_small = small.execute("SELECT count(*) FROM requests").fetchall()[0][0]
        print(f"build all {len(marts.MARTS)} marts for 1 new day ({args.rpd:,} req/day), median of {args.repeat}:")
        print(f"  {args.days} days already in the warehouse ({n_big:,} requests): {with_year * 1000:.0f} ms")
        print(f"  1 day already in the warehouse ({n_small:,} requests):       {with_one * 1000:.0f} ms")
        print(f"  ratio: {with_year / with_one:.2f} (target <= 1.3)")
        big.close()
        small.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
