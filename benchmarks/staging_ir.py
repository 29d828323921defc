"""Instructions executed by each format's staging SQL: a cost figure the machine's load does not move.

    .venv/bin/python benchmarks/staging_ir.py LABEL FILE...          # the code of this checkout
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/staging_ir.py before FILE...

Wall and CPU seconds on a machine shared by several engineers swing by 20-30 % between two runs
of the same code (cache and core contention), which hides changes of 5-15 %. This script counts
the CPU instructions instead, with valgrind's cachegrind (``--cache-sim=no``: counting only), which
is deterministic to a fraction of a percent. For each file (named ``<format>...jsonl``; keep them
small, e.g. 5,000 lines: cachegrind runs ~50x slower), it runs the format's ``staged_sql`` (a
``CREATE TABLE AS``, DuckDB on one thread) once and twice in two processes and reports the
difference: the instructions of one staging run, without interpreter start-up and imports. Only
the format's own SQL is run (not detection, the common checks or the load), so versions of the
format readers compare on the same lines; ``git archive <commit> | tar -x -C /tmp/before`` gives
another version. Needs ``valgrind`` on PATH.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def _inner(path: str, fmt: str, runs: int) -> None:
    """(in the child process) load the lines, then run the format's staging SQL ``runs`` times."""
    import duckdb

    from gatewaylens import formats

    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("SET asof_loop_join_threshold = 0")  # as ingest sets it (the OTel reader's AS OF joins)
    con.execute(
        "CREATE TEMP TABLE lines AS SELECT CAST(row_number() OVER () AS BIGINT) AS line_no, line "
        "FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '', "
        "max_line_size = 67108864)", [path])
    sql = formats.get(fmt).staged_sql("lines")
    con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM ({sql}) LIMIT 0")  # binder, catalog
    for _ in range(runs):
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {sql}")


def _instructions(path: Path, fmt: str, runs: int) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--inner", str(path), fmt, str(runs)],
        capture_output=True, text=True, check=True)
    m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if m is None:
        raise RuntimeError(out.stderr[-2000:])
    return int(m.group(1).replace(",", ""))


def main() -> int:
    if sys.argv[1] == "--inner":
        _inner(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    label = sys.argv[1]
    for name in sys.argv[2:]:
        path = Path(name)
        fmt = re.split(r"[^a-z]", path.name)[0]
        lines = sum(1 for _ in path.open("rb"))
        one, two = _instructions(path, fmt, 1), _instructions(path, fmt, 2)
        print(f"{label:<8} {path.name:<24} {fmt:<10} lines {lines:>7,}  staging {two - one:>14,} instructions  "
              f"{(two - one) / lines:>10,.0f} per line", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
