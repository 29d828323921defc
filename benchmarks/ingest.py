"""Ingest speed against a bare typed read_json scan of the same file, measured in the same run.

    .venv/bin/python benchmarks/ingest.py [--lines 2000000] [--keep]

Generates >= 2M canonical lines with the project's generator (seeded), concatenates them into
one file, then times:
  baseline  DuckDB read_json of the file with explicit types for every canonical column,
            aggregating every column (so every field is really parsed), no validation, no writes;
  copy      the floor of any loader: the same typed read_json written as-is into a table of a
            fresh DuckDB file (no validation, no dedupe, no second table);
  ingest    `gatewaylens ingest` of the same file into a fresh warehouse (validation, dedupe,
            hashing, inserts into requests + provider_attempts, one transaction).
  startup   `gatewaylens ingest` of a one-line file: the CLI's fixed cost (imports, the
            genai-prices snapshot load), part of the ingest figure.
Prints each, lines/s, the ratios to the baseline (target for ingest <= 2.5) and the ratio of
ingest to the persist floor ``copy`` (target <= 2.0: the file read once, every rule checked once),
in wall-clock seconds and in CPU seconds (the process's user + system time, DuckDB's threads
included: steadier than wall time on a shared machine), with the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from gatewaylens.generator import generate

TYPED_COLUMNS = {
    "request_id": "VARCHAR", "ts": "TIMESTAMPTZ", "app": "VARCHAR", "user": "VARCHAR", "model": "VARCHAR",
    "provider": "VARCHAR", "status": "VARCHAR", "http_status": "INTEGER", "error_type": "VARCHAR",
    "finish_reason": "VARCHAR", "native_finish_reason": "VARCHAR", "tools_offered": "BOOLEAN",
    "tool_call_count": "INTEGER", "input_tokens": "BIGINT", "cached_tokens": "BIGINT", "output_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT", "cost_usd": "DOUBLE", "latency_ms": "DOUBLE", "ttft_ms": "DOUBLE",
    "streamed": "BOOLEAN",
    "attempts": "STRUCT(provider VARCHAR, http_status INTEGER, latency_ms DOUBLE, ts TIMESTAMPTZ)[]",
}


def baseline_scan(path: Path) -> tuple[float, int]:
    con = duckdb.connect()
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPED_COLUMNS.items()) + "}"
    aggs = ", ".join(f"count({k})" for k in TYPED_COLUMNS)
    started = time.perf_counter()
    row = con.sql(
        f"SELECT count(*), {aggs} FROM read_json(?, format='newline_delimited', columns={cols})",
        params=[str(path)],
    ).fetchall()[0]
    return time.perf_counter() - started, int(row[0])


def copy_into_table(path: Path, db: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the typed read_json written into a table of a fresh file."""
    con = duckdb.connect(str(db))
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPED_COLUMNS.items()) + "}"
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited', columns={cols})", [str(path)]
    )
    con.close()
    return time.perf_counter() - started, time.process_time() - cpu


def cli_ingest(path: Path, db: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child process) of `gatewaylens ingest PATH`."""
    cmd = [sys.executable, "-m", "gatewaylens.cli.__main__", "ingest", str(path), "--db", str(db)]
    env = {**os.environ, "GATEWAYLENS_SALT": "bench"}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"ingest failed ({status}): {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--file", type=Path, help="a canonical JSONL file to use instead of generating one")
    args = parser.parse_args()
    per_day = 10_000
    days = -(-args.lines // per_day)
    work = Path(tempfile.mkdtemp(prefix="gl-bench-ingest-"))
    try:
        t = time.perf_counter()
        big = work / "requests.jsonl"
        if args.file:
            big = args.file
        else:
            generate(days=days, requests_per_day=per_day, seed=11, out=work / "landing", start=dt.date(2026, 1, 1))
            with big.open("wb") as out:
                for f in sorted((work / "landing").rglob("*.jsonl")):
                    out.write(f.read_bytes())
            print(f"generated {days * per_day:,} lines in {time.perf_counter() - t:.1f}s")
        print(f"input: {big.stat().st_size / 1e6:,.0f} MB")

        load_before = os.getloadavg()
        base_s, n = baseline_scan(big)
        copy_s, copy_cpu = copy_into_table(big, work / "copy.duckdb")
        one = work / "one.jsonl"
        with big.open("rb") as fh:
            one.write_bytes(fh.readline())
        start_s, start_cpu = cli_ingest(one, work / "one.duckdb")
        ingest_s, ingest_cpu = cli_ingest(big, work / "w.duckdb")
        con = duckdb.connect(str(work / "w.duckdb"), read_only=True)
        rows = con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
        con.close()
        assert rows == n, f"ingested {rows} rows, file has {n}"
        print(f"{'step':<28}{'seconds':>10}{'CPU s':>10}{'lines/s':>14}")
        print(f"{'baseline typed read_json':<28}{base_s:>10.2f}{'':>10}{n / base_s:>14,.0f}")
        print(f"{'copy into a table (floor)':<28}{copy_s:>10.2f}{copy_cpu:>10.2f}{n / copy_s:>14,.0f}")
        print(f"{'gatewaylens ingest (CLI)':<28}{ingest_s:>10.2f}{ingest_cpu:>10.2f}{n / ingest_s:>14,.0f}")
        print(f"{'  of which CLI start-up':<28}{start_s:>10.2f}{start_cpu:>10.2f}")
        print(f"ratio copy / baseline:   {copy_s / base_s:.2f}")
        print(f"ratio ingest / baseline: {ingest_s / base_s:.2f} (target <= 2.5)")
        print(f"ratio ingest / persist floor (copy): {ingest_s / copy_s:.2f} wall, {ingest_cpu / copy_cpu:.2f} CPU "
              f"(target <= 2.0); without the CLI start-up: {(ingest_s - start_s) / copy_s:.2f} wall, "
              f"{(ingest_cpu - start_cpu) / copy_cpu:.2f} CPU")
        print(f"load average (1 min) before / after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
