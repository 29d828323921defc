"""Benchmark: ingest + build of D days x R requests in the Parquet lake, DuckDB vs Spark
local[1] vs Spark local[2], and the serving cost per nightly run vs history size.

Usage: .venv/bin/python benchmarks/scale.py [--days 30] [--rpd 200000] [--masters "local[1],local[2]"]
                                           [--root DIR] [--skip-duckdb]

Generates the days with the project's generator (seed 7) — into ``--root`` when given, where the
landing files are kept and reused by the next run (generating 6 M requests takes minutes) — then
on the same landing files:

* DuckDB on the lake: each landing day ingested by ``lake.ingest_source`` (serially), then every
  mart built by ``lake.build_all`` for the whole range;
* Spark, once per master (each in its own process: one Spark session per driver): ingest with one
  Spark task per landing day + the Spark SQL dedupe (``engines.spark.ingest_days``), then every
  mart built by Spark (``engines.spark.build_all``); the marts' row counts are checked equal to
  DuckDB's;
* serving: the publish of ONE day's serving file (``serving.publish_snapshot(days=(d, d))``, the
  last step of a nightly run) with a third of the history and with all of it (median of 3).

Printed: the size, seconds per phase and engine (and per mart, as each finishes, so a run stopped
early still says how far it got), Spark's speed-up local[1] -> local[2], Spark / DuckDB, and the
serving ratio; with each phase its CPU seconds (this process, and the Spark JVM with its Python
workers) and the load average, so that a figure inflated by other work on the machine shows as such.
Every figure is measured in the same run; none is a target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gatewaylens import lake as lakemod
from gatewaylens import marts, serving
from gatewaylens.generator import generate
from gatewaylens.ingest import find_input_files

START = dt.date(2025, 1, 1)
SALT = "bench"


def files_by_day(landing: Path, days: list[dt.date]) -> dict[dt.date, list[Path]]:
    return {d: find_input_files([landing / f"{d:%Y}" / f"{d:%m}" / f"{d:%d}"]) for d in days}


def cpu_seconds(jvm_pid: int | None = None) -> float:
    """CPU seconds (user + system) of this process, its waited-for children and, given its pid,
    the Spark JVM with its Python workers: a figure the machine's load does not inflate."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    if jvm_pid is not None:
        fields = Path(f"/proc/{jvm_pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return total


def load() -> str:
    return "load %.1f/%.1f" % os.getloadavg()[:2]


def mart_counts(con) -> dict[str, int]:
    return {m: con.execute(f"SELECT count(*) FROM {m}").fetchall()[0][0] for m in marts.MARTS}


def progress(engine: str):
    """Print each mart's build time as it finishes (stderr: the Spark workers' stdout is their result)."""
    def show(res) -> None:
        print(f"  {engine} {res.name}: {res.seconds:.1f} s ({res.rows:,} rows)", file=sys.stderr, flush=True)
    return show


def run_duckdb(landing: Path, work: Path, days: list[dt.date]) -> dict:
    """DuckDB on the lake, in two halves (1/3 then 2/3 of the days) to time serving at both sizes."""
    shutil.rmtree(work / "lake-duckdb", ignore_errors=True)
    shutil.rmtree(work / "serving.raw", ignore_errors=True)
    (work / "serving.duckdb").unlink(missing_ok=True)
    lake = lakemod.Lake(work / "lake-duckdb")
    target = work / "serving.duckdb"
    cut = max(1, len(days) // 3)
    out = {"ingest": 0.0, "marts": 0.0, "ingest_cpu": 0.0, "marts_cpu": 0.0}
    serving_s = {}
    for part in (days[:cut], days[cut:]):
        if not part:
            continue
        t0, c0 = time.perf_counter(), cpu_seconds()
        for day, files in files_by_day(landing, part).items():
            lakemod.ingest_source(day.isoformat(), files, salt=SALT, lake=lake)
        t1, c1 = time.perf_counter(), cpu_seconds()
        print(f"  duckdb ingest of {len(part)} days: {t1 - t0:.1f} s ({load()})", file=sys.stderr, flush=True)
        con = lakemod.connect(lake)
        lakemod.build_all(con, part[0], part[-1], lake=lake, on_mart=progress("duckdb"))
        t2, c2 = time.perf_counter(), cpu_seconds()
        out["ingest"] += t1 - t0
        out["marts"] += t2 - t1
        out["ingest_cpu"] += c1 - c0
        out["marts_cpu"] += c2 - c1
        serving.publish_snapshot(con, target, days=(days[0], part[-1]), lake=lake)  # setup: the history
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            serving.publish_snapshot(con, target, days=(part[-1], part[-1]), lake=lake)
            runs.append(time.perf_counter() - t)
        serving_s[(part[-1] - days[0]).days + 1] = statistics.median(runs)
        out["counts"] = mart_counts(con)
        con.close()
    out["total"] = out["ingest"] + out["marts"]
    out["serving"] = serving_s
    return out


def run_spark(master: str, landing: Path, work: Path, days: list[dt.date]) -> dict:
    """Spark with ``master`` (runs in a worker process: see --worker)."""
    from gatewaylens.engines import spark as engine

    t = time.perf_counter()
    session = engine.session(engine.spark_conf(master, {"spark.driver.memory": "3g"}))
    started = time.perf_counter() - t
    folder = work / f"lake-spark-{master.replace('[', '').replace(']', '')}"
    shutil.rmtree(folder, ignore_errors=True)
    lake = lakemod.Lake(folder)
    jvm = session.sparkContext._gateway.proc.pid  # spark-submit execs the JVM: this is its pid
    t0, c0 = time.perf_counter(), cpu_seconds(jvm)
    engine.ingest_days(session, lake, files_by_day(landing, days), salt=SALT)
    t1, c1 = time.perf_counter(), cpu_seconds(jvm)
    print(f"  spark {master} ingest: {t1 - t0:.1f} s ({load()})", file=sys.stderr, flush=True)
    engine.build_all(session, lake, days[0], days[-1], on_mart=progress(f"spark {master}"))
    t2, c2 = time.perf_counter(), cpu_seconds(jvm)
    print(f"  spark {master} marts: {t2 - t1:.1f} s ({load()})", file=sys.stderr, flush=True)
    session.stop()
    con = lakemod.connect(lake)
    counts = mart_counts(con)
    con.close()
    return {"session": started, "ingest": t1 - t0, "marts": t2 - t1, "total": t2 - t0, "counts": counts,
            "ingest_cpu": c1 - c0, "marts_cpu": c2 - c1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rpd", type=int, default=200_000)
    ap.add_argument("--masters", default="local[1],local[2]")
    ap.add_argument("--root", help="keep the landing files (and lakes) here; landing files already there are reused")
    ap.add_argument("--skip-duckdb", action="store_true", help="Spark runs only (no DuckDB baseline, no serving)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run Spark with this master
    args = ap.parse_args()
    days = [START + dt.timedelta(days=i) for i in range(args.days)]
    if args.worker:
        root = Path(args.root)
        print(json.dumps(run_spark(args.worker, root / "landing", root, days)))
        return
    if args.root:
        Path(args.root).mkdir(parents=True, exist_ok=True)
        measure(args, Path(args.root), days)
    else:
        with tempfile.TemporaryDirectory(prefix="gl-scale-") as tmp:
            measure(args, Path(tmp), days)


def measure(args, root: Path, days: list[dt.date]) -> None:
    landing = root / "landing"
    stamp = landing / f".generated-{args.days}x{args.rpd}"
    if stamp.exists():
        print(f"size: {args.days} days x {args.rpd:,} requests/day = {args.days * args.rpd:,} requests "
              f"(landing files reused from {landing}); {os.cpu_count()} CPUs", flush=True)
    else:
        shutil.rmtree(landing, ignore_errors=True)
        t = time.perf_counter()
        generate(args.days, args.rpd, 7, landing, start=START)
        stamp.touch()
        print(f"size: {args.days} days x {args.rpd:,} requests/day = {args.days * args.rpd:,} requests "
              f"(generated in {time.perf_counter() - t:.0f} s); {os.cpu_count()} CPUs", flush=True)
    duck = None
    if not args.skip_duckdb:
        duck = run_duckdb(landing, root, days)
        print(f"duckdb  lake: ingest {duck['ingest']:.1f} s, marts {duck['marts']:.1f} s, total {duck['total']:.1f} s "
              f"(CPU s: ingest {duck['ingest_cpu']:.1f}, marts {duck['marts_cpu']:.1f}; {load()})", flush=True)
        sizes = sorted(duck["serving"])
        for h in sizes:  # printed before the Spark runs: they take longest
            print(f"serving publish of one day with {h} days of history: {duck['serving'][h]:.2f} s", flush=True)
        if len(sizes) == 2:
            print(f"serving ratio {sizes[1]} d / {sizes[0]} d: {duck['serving'][sizes[1]] / duck['serving'][sizes[0]]:.2f}",
                  flush=True)
    spark = {}
    masters = args.masters.split(",") if args.masters else []
    for master in masters:
        proc = subprocess.run([sys.executable, __file__, "--days", str(args.days), "--rpd", str(args.rpd),
                               "--worker", master, "--root", str(root)],
                              stdout=subprocess.PIPE, text=True, check=True)  # progress lines go to our stderr
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        spark[master] = res
        same = ("not compared" if duck is None else "equal" if res["counts"] == duck["counts"]
                else f"DIFFER {res['counts']} vs {duck['counts']}")
        print(f"spark {master}: ingest {res['ingest']:.1f} s, marts {res['marts']:.1f} s, total {res['total']:.1f} s "
              f"(+ session start {res['session']:.1f} s; CPU s: ingest {res['ingest_cpu']:.1f}, "
              f"marts {res['marts_cpu']:.1f}; {load()}); mart row counts vs DuckDB: {same}", flush=True)
    if len(masters) >= 2:
        a, b = spark[masters[0]], spark[masters[1]]
        print(f"speed-up {masters[0]} -> {masters[1]}: ingest {a['ingest'] / b['ingest']:.2f}x, "
              f"marts {a['marts'] / b['marts']:.2f}x, total {a['total'] / b['total']:.2f}x")
    for master, res in spark.items():
        if duck is not None:
            print(f"spark {master} / duckdb (total): {res['total'] / duck['total']:.2f}")


if __name__ == "__main__":
    main()
