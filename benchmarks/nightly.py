"""Benchmark: the nightly job for ONE day, end to end (ingest -> every mart -> serving publish),
with 30 vs 365 days of history, in both storage modes.

Usage: .venv/bin/python benchmarks/nightly.py [--short 30] [--long 365] [--rpd 1000] [--repeat 3] [--modes duckdb,lake]

Generates long+1 days with the project's generator (seed 7). For each storage mode and each
history size H (short, long): the first H days are ingested, built and published once (setup,
not timed); then the nightly job for day H+1 — the same file contents in both histories — runs
`repeat` times (each run replaces the day: re-ingest in the lake / delete-and-reinsert of the
marts and publish of the run's day in both), the two histories alternating run for run, and the
median is kept. Printed: seconds per step, CPU seconds, serving file size, and ratio =
median(long) / median(short), of wall and of CPU time. Target: ratio <= 1.3 in both
modes (the nightly cost does not grow with history).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from gatewaylens import db as dbmod
from gatewaylens import lake as lakemod
from gatewaylens import marts, serving
from gatewaylens.generator import generate
from gatewaylens.ingest import find_input_files, ingest_files

START = dt.date(2025, 1, 1)
SALT = "bench"


def day_files(landing: Path, day: dt.date) -> list[Path]:
    return find_input_files([landing / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"])


def setup(mode: str, landing: Path, work: Path, history: int):
    """History days ingested, built and published. Returns (connection, lake, serving path)."""
    end = START + dt.timedelta(days=history - 1)
    days = [START + dt.timedelta(days=i) for i in range(history)]
    target = work / "serving.duckdb"
    if mode == "duckdb":
        con, lake = dbmod.connect(work / "w.duckdb"), None
        ingest_files(con, [f for d in days for f in day_files(landing, d)], salt=SALT)
        marts.build_all(con, START, end)
    else:
        lake = lakemod.Lake(work / "lake")
        for d in days:
            lakemod.ingest_source(d.isoformat(), day_files(landing, d), salt=SALT, lake=lake)
        con = lakemod.connect(lake)
        lakemod.build_all(con, START, end, lake=lake)
    got = con.execute("SELECT count(DISTINCT day) FROM requests WHERE day BETWEEN ? AND ?", [START, end]).fetchall()[0][0]
    if got != history:  # a benchmark over a history that was not loaded measures nothing
        raise RuntimeError(f"{mode}: {got} of {history} history days ingested")
    serving.publish_snapshot(con, target, days=(START, end), lake=lake)
    return con, lake, target


def nightly(mode: str, con, lake, target: Path, landing: Path, day: dt.date) -> dict[str, float]:
    """One nightly run for `day`; seconds per step."""
    out = {}
    c0 = _cpu()
    t0 = time.perf_counter()
    if mode == "duckdb":
        con.execute("DELETE FROM provider_attempts WHERE day = ?", [day])  # a re-run: the day's rows come back
        con.execute("DELETE FROM requests WHERE day = ?", [day])
        con.execute("DELETE FROM ingested_files WHERE path LIKE ?", [f"%{day:%Y/%m/%d}%"])
        ingest_files(con, day_files(landing, day), salt=SALT)
    else:
        lakemod.ingest_source(day.isoformat(), day_files(landing, day), salt=SALT, lake=lake)
        for table in lakemod.BASE_TABLES:
            lakemod.refresh_view(con, lake, table)
    t1 = time.perf_counter()
    if mode == "duckdb":
        marts.build_all(con, day)
    else:
        lakemod.build_all(con, day, lake=lake)
    t2 = time.perf_counter()
    res = serving.publish_snapshot(con, target, days=(day, day), lake=lake)
    t3 = time.perf_counter()
    out.update(ingest=t1 - t0, marts=t2 - t1, serving=t3 - t2, total=t3 - t0, serving_mb=res.bytes / 1e6, cpu=_cpu() - c0)
    return out


def _cpu() -> float:
    """CPU seconds of this process (all of DuckDB's threads): what other work on the machine does not inflate."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--short", type=int, default=30)
    ap.add_argument("--long", type=int, default=365)
    ap.add_argument("--rpd", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--modes", default="duckdb,lake")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gl-nightly-") as tmp:
        root = Path(tmp)
        generate(args.long + 1, args.rpd, 7, root / "landing", start=START)
        for mode in args.modes.split(","):
            runs: dict[int, list[dict[str, float]]] = {}
            setups = {}
            for history in (args.short, args.long):
                work = root / f"{mode}-{history}"
                work.mkdir()
                # The new day is the same file contents whatever the history: copy day long+1's files.
                new_day = START + dt.timedelta(days=history)
                src_day = START + dt.timedelta(days=args.long)
                landing = root / f"landing-{mode}-{history}"
                for d in [START + dt.timedelta(days=i) for i in range(history)]:
                    _link(root / "landing", landing, d, d)
                _link(root / "landing", landing, src_day, new_day, shift=True)
                t = time.perf_counter()
                con, lake, target = setup(mode, landing, work, history)
                print(f"[{mode}] history {history} days set up in {time.perf_counter() - t:.1f} s", flush=True)
                setups[history] = (con, lake, target, landing, new_day)
                runs[history] = []
            # the two histories alternate, run for run (after one warm-up each): a change of the
            # machine's load during the benchmark falls on both alike
            for i in range(args.repeat + 1):
                for history, (con, lake, target, landing, new_day) in setups.items():
                    res = nightly(mode, con, lake, target, landing, new_day)
                    if i:
                        runs[history].append(res)
            medians = {}
            for history, (con, *_rest) in setups.items():
                con.close()
                med = {k: statistics.median(r[k] for r in runs[history]) for k in runs[history][0]}
                medians[history] = med
                print(f"[{mode}] history {history:>3} d: nightly {med['total']:.2f} s (ingest {med['ingest']:.2f}, "
                      f"marts {med['marts']:.2f}, serving {med['serving']:.2f}; CPU {med['cpu']:.2f} s); "
                      f"serving file {med['serving_mb']:.1f} MB", flush=True)
            ratio = medians[args.long]["total"] / medians[args.short]["total"]
            cpu = medians[args.long]["cpu"] / medians[args.short]["cpu"]
            print(f"[{mode}] ratio {args.long} d / {args.short} d history: {ratio:.2f} wall, {cpu:.2f} CPU "
                  f"(target <= 1.3; load {os.getloadavg()[0]:.1f})", flush=True)


def _link(src_root: Path, dst_root: Path, src_day: dt.date, dst_day: dt.date, shift: bool = False) -> None:
    """Put day src_day's landing files under dst_day's folder (timestamps moved by the day offset
    when shift=True, so the new day's rows fall on dst_day)."""
    import gzip

    src = src_root / f"{src_day:%Y}" / f"{src_day:%m}" / f"{src_day:%d}"
    dst = dst_root / f"{dst_day:%Y}" / f"{dst_day:%m}" / f"{dst_day:%d}"
    dst.mkdir(parents=True, exist_ok=True)
    for f in find_input_files([src]):
        target = dst / f.name
        if not shift or src_day == dst_day:
            # a hard link: ingest does not follow a symlink out of the landing folder it walks
            os.link(f, target)
            continue
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt") as fh, opener(target, "wt") as out:
            for line in fh:
                line = line.replace(src_day.isoformat(), dst_day.isoformat())
                out.write(line)


if __name__ == "__main__":
    main()
