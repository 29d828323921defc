"""Ingest speed per input format, against a bare scan baseline measured in the same run.

    .venv/bin/python benchmarks/formats.py [--lines 500000] [--formats openrouter,litellm,...] [--keep]

For each format, generates the same seeded traffic with the project's generator
(``--format NAME``), concatenates the day files into one file of about ``--lines`` lines, then
times, in the same run:
  scan      DuckDB reading the file's lines and parsing every one as JSON once (``read_csv`` of
            whole lines + ``json_extract_string`` of one key): no validation, no writes;
  ingest    ``ingest_paths`` of the file into a fresh warehouse with per-line detection
            (validation, normalisation, dedupe, hashing, inserts, one transaction);
and, to show what any ingest must at least spend on this machine, three floors:
  hash      sha256 of the file's content (ingested_files.content_sha256; one core);
  persist   writing the rows ingest produced (``requests`` + ``provider_attempts``) into the
            tables of a fresh DuckDB file, copied from the ingested warehouse: no parsing at all;
  floor     hash + scan + persist: reading, parsing and storing with no validation, no
            normalisation and no dedupe. (A pipeline hashing on one core while DuckDB parses on
            the other could hide part of the hash; ``floor w/o hash`` = scan + persist.)
Prints lines/s for each (wall clock), then the CPU seconds of each step (the process's user +
system time, DuckDB's threads included) and ingest CPU / floor CPU: on a machine shared with other
work the wall-clock figures mostly measure the load, the CPU ratio much less so (the A/B of two
code versions on the same files is benchmarks/ingest_ab.py; instruction counts of the format
readers alone, which no load moves, benchmarks/staging_ir.py). The target is >= 250k lines/s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
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


def _cpu() -> float:
    return time.process_time()


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


def hash_file(path: Path) -> float:
    """Seconds to sha256 the file's bytes (what ingest records per file)."""
    started = time.perf_counter()
    with path.open("rb") as fh:
        hashlib.file_digest(fh, "sha256")
    return time.perf_counter() - started


def bench_ingest(path: Path, work: Path) -> tuple[float, float, int, int, int, float, float]:
    """(ingest seconds, persist seconds, rows inserted, merged, quarantined, ingest CPU s, persist CPU s)."""
    db = work / f"{path.stem}.duckdb"
    con = dbmod.connect(db)
    cpu = _cpu()
    summary = ingest_paths(con, [path], salt="bench")
    ingest_cpu = _cpu() - cpu
    cpu = _cpu()
    persist = persist_floor(con, work / f"{path.stem}-copy.duckdb")
    persist_cpu = _cpu() - cpu
    con.close()
    db.unlink()
    return summary.seconds, persist, summary.rows_inserted, summary.merged, summary.quarantined, ingest_cpu, persist_cpu


def persist_floor(con: duckdb.DuckDBPyConnection, copy: Path) -> float:
    """Seconds to write the ingested rows into empty tables of the same layout in a fresh file."""
    ddl = [r[0] for r in con.sql(
        "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name IN ('requests', 'provider_attempts')").fetchall()]
    con.execute("ATTACH ? AS copy", [str(copy)])
    for statement in ddl:
        con.execute(statement.replace("CREATE TABLE ", "CREATE TABLE copy.", 1))
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO copy.requests SELECT * FROM requests")
    con.execute("INSERT INTO copy.provider_attempts SELECT * FROM provider_attempts")
    con.execute("COMMIT")
    seconds = time.perf_counter() - started
    con.execute("DETACH copy")
    copy.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-bench-formats-"))
    # genai-prices' snapshot (model identity, prices) loads once per process: timed apart, so the
    # first format does not carry it
    started = time.perf_counter()
    from gatewaylens import identity, prices
    identity.resolver().resolve("gpt-4o")
    prices._providers()
    print(f"genai-prices snapshot load (once per process): {time.perf_counter() - started:.2f} s", file=sys.stderr)
    rows, cpus = [], []
    try:
        for fmt in args.formats.split(","):
            path, n = build_file(fmt, args.lines, work)
            cpu = _cpu()
            hashed = hash_file(path)
            hash_cpu, cpu = _cpu() - cpu, _cpu()
            scan = baseline_scan(path)
            scan_cpu = _cpu() - cpu
            secs, persist, inserted, merged, quarantined, ingest_cpu, persist_cpu = bench_ingest(path, work)
            cpus.append((fmt, n, hash_cpu, scan_cpu, persist_cpu, ingest_cpu, os.getloadavg()[0]))
            rows.append((fmt, n, path.stat().st_size / n, n / hashed, n / scan, n / persist,
                         n / (hashed + scan + persist), n / (scan + persist), n / secs, inserted, merged, quarantined))
            path.unlink()
            print(f"{fmt:<11} done", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("lines/s per step (higher is faster); 'floor' = hash + scan + persist, no validation")
    print(f"{'format':<11} {'lines':>9} {'bytes/l':>7} {'hash':>10} {'scan':>10} {'persist':>10} {'floor':>10} "
          f"{'w/o hash':>10} {'ingest':>10} {'floor/ingest':>12} {'rows':>9} {'merged':>7} {'quar.':>5}")
    for fmt, n, bpl, h, sc, pe, fl, fl_nohash, lps, inserted, merged, quarantined in rows:
        print(f"{fmt:<11} {n:>9,} {bpl:>7.0f} {h:>10,.0f} {sc:>10,.0f} {pe:>10,.0f} {fl:>10,.0f} {fl_nohash:>10,.0f} "
              f"{lps:>10,.0f} {fl / lps:>12.2f} {inserted:>9,} {merged:>7,} {quarantined:>5}")
    print("\nCPU seconds per step (process user + system, DuckDB's threads included)")
    print(f"{'format':<11} {'hash':>7} {'scan':>7} {'persist':>7} {'ingest':>7} {'ingest/floor':>12} "
          f"{'ingest/(scan+persist)':>21} {'load':>5}")
    for fmt, n, h, sc, pe, ing, load in cpus:
        print(f"{fmt:<11} {h:>7.2f} {sc:>7.2f} {pe:>7.2f} {ing:>7.2f} {ing / (h + sc + pe):>12.2f} "
              f"{ing / (sc + pe):>21.2f} {load:>5.1f}")
    slow = [r[0] for r in rows if r[8] < TARGET]
    print(f"target >= {TARGET:,} lines/s: " + ("met by every format" if not slow else "NOT met by " + ", ".join(slow)))
    below = [r[0] for r in rows if r[6] < TARGET]
    if below:
        print(f"floor (hash + scan + persist) itself below {TARGET:,} lines/s: " + ", ".join(below))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
