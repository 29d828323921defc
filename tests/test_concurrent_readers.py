"""Reading while a run writes: a multi-day materialization runs in one process while this one
runs >= 200 dashboard-style read-only queries and `gatewaylens sql` calls on the serving snapshot.
Every answer must come back (0 errors) and equal the answer of the old or of the new snapshot."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gatewaylens import db as dbmod
from gatewaylens.generator import generate
from tests.conftest import ROOT

START = dt.date(2026, 3, 1)
DAYS = 6
OLD_DAYS = 2
RUN_TIMEOUT_S = 900  # a bound for a hung run, not a speed goal

# What the dashboard asks (parameterised, short-lived read-only connections).
QUERIES: list[tuple[str, dict | None]] = [
    ("SELECT count(*), count(DISTINCT day) FROM requests", None),
    ("SELECT day, sum(tool_call_requests) / sum(successful_requests) FROM tool_call_rate_daily "
     "GROUP BY day ORDER BY day", None),
    ("SELECT model, sum(requests) FROM model_mix_daily WHERE day BETWEEN $start AND $end GROUP BY model ORDER BY model",
     {"start": START, "end": START + dt.timedelta(days=DAYS - 1)}),
    ("SELECT round(sum(reasoning_tokens) / sum(output_tokens_reporting), 9) FROM reasoning_share_daily", None),
    ("SELECT provider, sum(attempts), sum(failed_attempts) FROM provider_uptime_daily GROUP BY provider ORDER BY provider", None),
]
CLI_QUERY = "SELECT count(*) AS n, max(day) AS last_day FROM requests"


def _answers(path: Path) -> list:
    con = dbmod.connect_readonly(path)
    try:
        return [con.sql(q, params=p).fetchall() if p else con.sql(q).fetchall() for q, p in QUERIES]
    finally:
        con.close()


def _cli_answer(path: Path) -> str:
    con = dbmod.connect_readonly(path)
    try:
        n, last = con.sql(CLI_QUERY).fetchall()[0]
    finally:
        con.close()
    return f"n,last_day\n{n},{last}\n"


def _materialize(env: dict[str, str], start: dt.date, end: dt.date) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.materialize", "--start", start.isoformat(), "--end", end.isoformat(),
         "--log-level", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_readers_never_fail_and_see_old_or_new_snapshot(env):
    generate(days=DAYS, requests_per_day=300, seed=21, out=env["landing"], start=START)
    proc_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    snapshot = env["db"].with_name("warehouse.serving.duckdb")

    # The old snapshot: the first OLD_DAYS days.
    first = _materialize(proc_env, START, START + dt.timedelta(days=OLD_DAYS - 1))
    out, _ = first.communicate(timeout=RUN_TIMEOUT_S)
    assert first.returncode == 0, out
    old, old_cli = _answers(snapshot), _cli_answer(snapshot)

    # The full materialization (DAYS days), in another process, while we read.
    writer = _materialize(proc_env, START, START + dt.timedelta(days=DAYS - 1))
    results: list[list] = []
    cli_results: list[str] = []
    errors: list[str] = []
    during = 0

    def cli_calls() -> None:
        gl = str(ROOT / ".venv" / "bin" / "gatewaylens")
        while writer.poll() is None or len(cli_results) < 4:
            proc = subprocess.run([gl, "sql", CLI_QUERY, "--csv"], env=proc_env, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                errors.append(f"cli exit {proc.returncode}: {proc.stderr}")
            else:
                cli_results.append(proc.stdout)
            if len(cli_results) >= 12:
                break

    cli_thread = threading.Thread(target=cli_calls)
    cli_thread.start()
    started = time.monotonic()
    # Read for as long as the run lasts (however loaded the machine), then up to 200 answers.
    while (writer.poll() is None or len(results) < 200) and time.monotonic() - started < RUN_TIMEOUT_S:
        try:
            results.append(_answers(snapshot))
            if writer.poll() is None:
                during += 1
        except Exception as exc:  # noqa: BLE001 - any failure of a reader is what we count
            errors.append(repr(exc))
    out, _ = writer.communicate(timeout=60)
    cli_thread.join(timeout=RUN_TIMEOUT_S)
    assert writer.returncode == 0, out

    new, new_cli = _answers(snapshot), _cli_answer(snapshot)
    assert new != old and new_cli != old_cli  # the run really published something different
    assert errors == []
    assert len(results) + len(cli_results) >= 200
    assert during >= 20, f"only {during} queries overlapped the run"
    assert all(r == old or r == new for r in results)
    assert all(r in (old_cli, new_cli) for r in cli_results)
    assert any(r == old for r in results) and results[-1] == new
    assert len(cli_results) >= 4
    print(f"\nreaders: {len(results)} queries ({during} during the run), {len(cli_results)} CLI calls; run {time.monotonic() - started:.1f} s")
