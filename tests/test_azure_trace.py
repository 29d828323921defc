"""Azure LLM inference trace (real production timestamps/tokens): adapter -> ingest -> marts.
Per-hour and per-minute request and token counts from the marts equal a direct count of the CSV
(read here with the csv module, independently of the adapter's polars parsing)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.adapters import azure_trace
from gatewaylens.ingest import ingest_paths

TRACE_DIR = Path(__file__).resolve().parents[2] / "shared" / "real_traces" / "azure_llm_2023"
CSVS = sorted(TRACE_DIR.glob("AzureLLMInferenceTrace_*.csv"))

pytestmark = pytest.mark.skipif(not CSVS, reason=f"Azure trace not found under {TRACE_DIR}")


def _direct_counts() -> tuple[dict, dict]:
    """{(app, hour_str): [requests, input, output]}, {minute_str: [requests, input, output]} from the CSV."""
    hours: dict = {}
    minutes: dict = {}
    for path in CSVS:
        app = "azure-trace-code" if path.stem.endswith("_code") else "azure-trace-conv"
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                ts = row["TIMESTAMP"]  # 'YYYY-MM-DD HH:MM:SS.fffffff', UTC by the adapter's contract
                for key, bucket in (((app, ts[:13]), hours), (ts[:16], minutes)):
                    acc = bucket.setdefault(key, [0, 0, 0])
                    acc[0] += 1
                    acc[1] += int(row["ContextTokens"])
                    acc[2] += int(row["GeneratedTokens"])
    return hours, minutes


@pytest.fixture(scope="module")
def azure(tmp_path_factory):
    root = tmp_path_factory.mktemp("azure")
    files = azure_trace.write_canonical(CSVS, root / "landing")
    con = dbmod.connect(root / "wh.duckdb")
    summary = ingest_paths(con, files, salt="test")
    assert summary.quarantined == 0
    days = marts.days_with_requests(con)
    marts.build_all(con, days[0], days[-1])
    yield con
    con.close()


def test_hourly_counts_equal_csv(azure) -> None:
    hours, _ = _direct_counts()
    rows = azure.execute(
        "SELECT app, strftime(hour, '%Y-%m-%d %H'), requests, input_tokens, output_tokens FROM load_hourly").fetchall()
    got = {(app, h): [n, i, o] for app, h, n, i, o in rows}
    assert got == hours
    assert sum(v[0] for v in got.values()) == sum(1 for p in CSVS for _ in p.open()) - len(CSVS)


def test_minutely_counts_equal_csv(azure) -> None:
    _, minutes = _direct_counts()
    rows = azure.execute(
        "SELECT strftime(minute, '%Y-%m-%d %H:%M'), requests, input_tokens, output_tokens FROM load_minutely").fetchall()
    assert {m: [n, i, o] for m, n, i, o in rows} == minutes
    # and straight from requests, per minute
    direct = azure.execute(
        "SELECT strftime(date_trunc('minute', ts), '%Y-%m-%d %H:%M'), count(*) FROM requests GROUP BY 1").fetchall()
    assert dict(direct) == {m: v[0] for m, v in minutes.items()}


def test_load_profile_on_real_trace(azure) -> None:
    _, minutes = _direct_counts()
    (requests, peak_minute, active_hours, share), = azure.execute(
        "SELECT requests, peak_minute_requests, active_hours, batch_window_share FROM load_profile_daily").fetchall()
    assert requests == sum(v[0] for v in minutes.values())
    assert peak_minute == max(v[0] for v in minutes.values())
    assert active_hours == 2 and share == 0.0  # the trace covers ~18:15-19:14 UTC only


def test_canonical_mapping() -> None:
    line = next(azure_trace.canonical_lines(CSVS[0]))
    with CSVS[0].open(newline="") as fh:
        first = next(csv.DictReader(fh))
    assert line["request_id"] == f"azure-{CSVS[0].stem}-1"
    assert line["ts"] == first["TIMESTAMP"].replace(" ", "T")[:26] + "Z"
    assert (line["input_tokens"], line["output_tokens"]) == (int(first["ContextTokens"]), int(first["GeneratedTokens"]))
    assert "reasoning_tokens" not in line and line["model"] == azure_trace.MODEL
    assert dt.datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).tzinfo is not None


def test_rejects_other_csv(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        azure_trace.read_trace(bad)
    assert azure_trace.main([str(bad), "--out", str(tmp_path / "o")]) == 2
    assert azure_trace.main([str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
