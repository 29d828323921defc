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
Prints each, lines/s, the ratios to the baseline (target for ingest <= 2.5) and the ratio of
ingest to the persist floor ``copy`` (target <= 2.0: the file read once, every rule checked once).
"""

from __future__ import annotations

import argparse
import datetime as dt
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


def copy_into_table(path: Path, db: Path) -> float:
    con = duckdb.connect(str(db))
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPED_COLUMNS.items()) + "}"
    started = time.perf_counter()
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited', columns={cols})", [str(path)]
    )
    con.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    per_day = 10_000
    days = -(-args.lines // per_day)
    work = Path(tempfile.mkdtemp(prefix="gl-bench-ingest-"))
    try:
        t = time.perf_counter()
        generate(days=days, requests_per_day=per_day, seed=11, out=work / "landing", start=dt.date(2026, 1, 1))
        big = work / "requests.jsonl"
        with big.open("wb") as out:
            for f in sorted((work / "landing").rglob("*.jsonl")):
                out.write(f.read_bytes())
        size_mb = big.stat().st_size / 1e6
        print(f"generated {days * per_day:,} lines ({size_mb:,.0f} MB) in {time.perf_counter() - t:.1f}s")

        base_s, n = baseline_scan(big)
        copy_s = copy_into_table(big, work / "copy.duckdb")
        cmd = [sys.executable, "-m", "gatewaylens.cli.__main__", "ingest", str(big), "--db", str(work / "w.duckdb")]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        ingest_s = time.perf_counter() - t
        con = duckdb.connect(str(work / "w.duckdb"), read_only=True)
        rows = con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
        con.close()
        assert rows == n, f"ingested {rows} rows, file has {n}"
        print(f"{'step':<28}{'seconds':>10}{'lines/s':>14}")
        print(f"{'baseline typed read_json':<28}{base_s:>10.2f}{n / base_s:>14,.0f}")
        print(f"{'copy into a table (floor)':<28}{copy_s:>10.2f}{n / copy_s:>14,.0f}")
        print(f"{'gatewaylens ingest (CLI)':<28}{ingest_s:>10.2f}{n / ingest_s:>14,.0f}")
        print(f"ratio copy / baseline:   {copy_s / base_s:.2f}")
        print(f"ratio ingest / baseline: {ingest_s / base_s:.2f} (target <= 2.5)")
        print(f"ratio ingest / persist floor (copy): {ingest_s / copy_s:.2f} (target <= 2.0)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
