"""Peak memory (RSS) of `gatewaylens ingest` against the size of its input.

    .venv/bin/python benchmarks/memory.py [--sizes-gb 1,2,5] [--bombs/--no-bombs] [--keep]

Generates the inputs in a temporary folder (deleted afterwards unless --keep):
  canonical N GB   the project's generator (seeded) repeated with distinct request_ids up to N GB;
  newline bomb     a ~1 MB .gz that expands to 1 GiB of newlines;
  'A' bomb         a ~3 MB .gz of 3 GiB of the letter A (one endless line).
Each is ingested by `gatewaylens ingest` in a fresh process into a fresh warehouse; the peak RSS
of that process (getrusage of the child, which includes DuckDB's native memory) is printed with
the input's size, the time and what ingest did with it. The goal: peak RSS independent of the
input size, <= 1.5 GiB (the defaults: GATEWAYLENS_INGEST_MEMORY_LIMIT=1GB, bounded read chunks,
and the per-file decompression limits, which reject the bombs as `over limit`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

GIB = 1 << 30


def _canonical(path: Path, size: int, work: Path) -> int:
    """A canonical file of about ``size`` bytes: one generated day, repeated with new request_ids."""
    from gatewaylens.generator import generate

    base_dir = work / "base"
    generate(days=2, requests_per_day=20_000, seed=5, out=base_dir, start=dt.date(2026, 1, 1))
    base = b"".join(f.read_bytes() for f in sorted(base_dir.rglob("*.jsonl")))
    shutil.rmtree(base_dir)
    lines = 0
    written = 0
    k = 0
    with path.open("wb") as out:
        while written < size:
            block = base.replace(b'"request_id": "req-', f'"request_id": "r{k}-'.encode()).replace(
                b'"request_id":"req-', f'"request_id":"r{k}-'.encode())
            out.write(block)
            written += len(block)
            lines += block.count(b"\n")
            k += 1
    return lines


def _gzip_of(path: Path, byte: bytes, size: int) -> None:
    """A .gz of ``size`` copies of ``byte``, written with a streaming compressor at level 9."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = byte * (16 << 20)
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(left, len(block))
            out.write(comp.compress(block[:n]))
            left -= n
        out.write(comp.flush())


def _ingest(path: Path, work: Path) -> tuple[float, float, str]:
    """(peak RSS in GiB, seconds, last line of output) of one `gatewaylens ingest` process."""
    db = work / f"w-{path.stem}.duckdb"
    env = {**os.environ, "GATEWAYLENS_DB": str(db), "GATEWAYLENS_SALT": "memory-benchmark"}
    cmd = [sys.executable, "-m", "gatewaylens.cli", "ingest", str(path), "--db", str(db)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    for f in work.glob(f"w-{path.stem}.*"):
        f.unlink() if f.is_file() else shutil.rmtree(f, ignore_errors=True)
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    return usage.ru_maxrss / (1 << 20), seconds, (lines[-1] if lines else f"exit status {status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-gb", default="1,2,5", help="canonical file sizes, GB (comma-separated; empty: none)")
    parser.add_argument("--bombs", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-bench-memory-"))
    rows = []
    try:
        inputs: list[tuple[str, Path, str]] = []
        if args.bombs:
            nl = work / "newlines.jsonl.gz"
            _gzip_of(nl, b"\n", GIB)
            inputs.append(("newline bomb (1 GiB of \\n)", nl, f"{nl.stat().st_size / 1e6:.1f} MB .gz -> 1 GiB"))
            aa = work / "aaa.jsonl.gz"
            _gzip_of(aa, b"A", 3 * GIB)
            inputs.append(("'A' bomb (3 GiB of A)", aa, f"{aa.stat().st_size / 1e6:.1f} MB .gz -> 3 GiB"))
        for gb in [float(x) for x in args.sizes_gb.split(",") if x.strip()]:
            f = work / f"canonical-{gb:g}gb.jsonl"
            n = _canonical(f, int(gb * 1e9), work)
            inputs.append((f"canonical {gb:g} GB", f, f"{f.stat().st_size / 1e9:.2f} GB, {n:,} lines"))
        for name, path, size in inputs:
            rss, seconds, said = _ingest(path, work)
            rows.append((name, size, rss, seconds, said))
            print(f"{name:<28} {size:<28} peak RSS {rss:5.2f} GiB  {seconds:7.1f} s  | {said[:120]}", flush=True)
            path.unlink()
        worst = max(r[2] for r in rows) if rows else 0
        print(f"worst peak RSS: {worst:.2f} GiB (goal <= 1.5 GiB, independent of the input size)")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
