"""A/B of ingest CPU between two versions of the code, on the SAME files, each against its own floor.

    .venv/bin/python benchmarks/ingest_ab.py LABEL FILE_OR_FOLDER...  # the code of this checkout
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/ingest_ab.py before FILE...

(`git archive <commit> | tar -x -C /tmp/before` gives the other version.) For each file: in-process
``ingest_paths`` into a fresh warehouse, timed in wall-clock and CPU seconds (the process's user +
system time: DuckDB's threads included, and much steadier than wall time on a shared machine),
then, in the same process, the floor = *scan* (DuckDB reading every line and parsing it as JSON
once) + *persist* (copying the rows this ingest produced into empty tables of a fresh file). The
ratio ingest / floor is comparable across versions and loads; run the two versions alternately,
on files made once (e.g. by benchmarks/formats.py --keep, or the generator with --format).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from formats import baseline_scan, persist_floor  # benchmarks/formats.py (this script's folder)
from gatewaylens import db as dbmod
from gatewaylens.ingest import ingest_paths


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def floor(con: duckdb.DuckDBPyConnection, path: Path, work: Path) -> tuple[float, float]:
    """(wall, CPU) of scan + persist (benchmarks/formats.py's floors) for ``path`` (a file, or a
    folder: its *.jsonl files) and the rows ingested into ``con``."""
    scanned = path / "**" / "*.jsonl" if path.is_dir() else path
    scan_wall, _, scan_cpu = _timed(lambda: baseline_scan(scanned))
    persist_wall, _, persist_cpu = _timed(lambda: persist_floor(con, work / "copy.duckdb"))  # (CPU: with its DDL)
    return scan_wall + persist_wall, scan_cpu + persist_cpu


def main() -> int:
    label, files = sys.argv[1], [Path(f) for f in sys.argv[2:]]
    try:  # the genai-prices snapshot loads once per process (newer code only): not in the first file's time
        from gatewaylens import identity, prices
        identity.resolver().resolve("gpt-4o")
        prices._providers()
    except ImportError:
        pass
    for path in files:
        work = Path(tempfile.mkdtemp(prefix="gl-ab-"))
        try:
            con = dbmod.connect(work / "w.duckdb")
            s, wall, cpu = _timed(lambda: ingest_paths(con, [path], salt="bench"))
            fwall, fcpu = floor(con, path, work)
            con.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{label:<8} {path.name:<22} lines {s.lines:>8,}  ingest {wall:6.2f} s wall {cpu:6.2f} s CPU  "
              f"floor {fwall:5.2f} s wall {fcpu:5.2f} s CPU  ingest/floor {wall / fwall:5.2f} wall {cpu / fcpu:5.2f} CPU  "
              f"rows {s.rows_inserted:,} quarantined {s.quarantined}  load {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
