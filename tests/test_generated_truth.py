"""Ingesting generated logs reproduces what the generator injected (truth.json)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    landing = root / "landing"
    generate(days=120, requests_per_day=1000, seed=5, out=landing, start=dt.date(2025, 3, 1), bad_rate=0.01)
    con = dbmod.connect(root / "w.duckdb")
    summary = ingest_paths(con, [landing], salt="s")
    days = marts.days_with_requests(con)
    marts.build_mart(con, "tool_call_rate_daily", days[0], days[-1])
    marts.build_mart(con, "model_substitution_daily", days[0], days[-1])
    truth = json.loads((landing / "truth.json").read_text())
    yield con, summary, truth
    con.close()


def test_every_line_is_accounted_for(warehouse):
    con, summary, truth = warehouse
    assert summary.rows_inserted == truth["total_requests"]
    assert summary.duplicates == truth["duplicate_lines"]
    assert summary.quarantined == sum(truth["bad_lines"].values())
    assert summary.records == summary.rows_inserted + summary.duplicates + summary.quarantined + summary.merged
    assert summary.records >= summary.lines


def test_monthly_tool_call_rate_matches_truth_within_1_5_points(warehouse):
    con, _, truth = warehouse
    got = dict(
        con.sql(
            "SELECT strftime(day, '%Y-%m'), sum(tool_call_requests) / sum(successful_requests) "
            "FROM tool_call_rate_daily GROUP BY 1"
        ).fetchall()
    )
    assert len(truth["monthly"]) == 4
    for month in truth["monthly"]:
        assert abs(got[month["month"]] - month["tool_call_rate"]) <= 0.015, month["month"]
    rates = [got[m["month"]] for m in truth["monthly"]]
    assert rates == sorted(rates), "the tool-call rate rises month over month"


def test_model_substitutions_match_truth_exactly(warehouse):
    """model_substitution_daily finds exactly the model fallbacks the generator injected (by day, app,
    requested and served model), and nothing else: the undated ids the apps ask for ('gpt-5',
    'claude-sonnet-4-5') served as dated snapshots are the same model, not substitutions."""
    con, _, truth = warehouse
    subs = truth["model_substitutions"]
    want = sorted((dt.date.fromisoformat(r["day"]), r["app"], r["model_requested"], r["model"], r["requests"])
                  for r in subs["by_day"])
    got = con.sql("SELECT day, app, model_requested, model, requests FROM model_substitution_daily "
                  "WHERE substituted ORDER BY ALL").fetchall()
    assert got == want
    assert subs["requests"] == sum(r[-1] for r in want) > 50
    assert 0.0005 < subs["share_of_requests"] < 0.01  # model fallbacks are rare next to provider failovers
    # every request says what it asked for; all fallback chains of truth.json occur
    total, with_requested = con.sql("SELECT count(*), count(model_requested) FROM requests").fetchall()[0]
    assert with_requested == total == truth["total_requests"]
    chains = {(f["app"], f["requested"], f["served"]) for f in truth["usage"]["fallbacks"]}
    assert {(a, r, m) for _, a, r, m, _ in want} == chains


def test_fast_and_per_line_paths_agree(tmp_path, warehouse, monkeypatch):
    """Clean files ingested one by one on the read_json fast path, and together as one batch on
    the per-line path, give the same rows and attempts."""
    import gatewaylens.ingest as ing

    out = tmp_path / "gen"
    generate(days=2, requests_per_day=500, seed=9, out=out, start=dt.date(2025, 6, 1))
    files = sorted(out.rglob("*.jsonl"))
    a = dbmod.connect(tmp_path / "a.duckdb")
    fast = ing.ingest_files(a, files, salt="s", batch_bytes=2)  # each file alone: fast path
    assert all(f.fast_path for f in fast)
    a.close()
    monkeypatch.setattr(ing.stage, "stage_fast", lambda *args: None)
    b = dbmod.connect(tmp_path / "b.duckdb")
    slow = ing.ingest_files(b, files, salt="s")  # both files in one batch, per-line path
    assert not any(f.fast_path for f in slow)
    b.execute(f"ATTACH '{tmp_path / 'a.duckdb'}' AS a (READ_ONLY)")
    for table in ("requests", "provider_attempts"):
        cols = "* EXCLUDE (ingested_at)" if table == "requests" else "*"
        diff = b.sql(
            f"SELECT count(*) FROM ((SELECT {cols} FROM {table} EXCEPT ALL SELECT {cols} FROM a.{table}) "
            f"UNION ALL (SELECT {cols} FROM a.{table} EXCEPT ALL SELECT {cols} FROM {table}))"
        ).fetchall()[0][0]
        assert diff == 0, table
    assert b.sql("SELECT count(*) FROM requests").fetchall()[0][0] == 1000
    b.close()


def test_fast_path_restages_bad_lines_like_the_per_line_path(tmp_path, monkeypatch):
    """Files with bad lines of every kind (and a truncated last line) keep the read_json fast path
    for their good lines; the lines it cannot take are re-staged line by line. Rows, attempts,
    quarantine rows and per-file counts equal those of the per-line path for the whole file."""
    import gatewaylens.ingest as ing

    out = tmp_path / "gen"
    generate(days=2, requests_per_day=800, seed=5, out=out, start=dt.date(2025, 6, 1), bad_rate=0.05)
    files = sorted(out.rglob("*.jsonl"))
    with files[-1].open("ab") as fh:
        fh.write(b'{"request_id": "cut-short", "ts": "2025-06-02T23:59:59Z", "mod')  # a write cut short
    results = {}
    for name, stage_fast in (("fast", ing.stage.stage_fast), ("slow", lambda *args: None)):
        monkeypatch.setattr(ing.stage, "stage_fast", stage_fast)
        con = dbmod.connect(tmp_path / f"{name}.duckdb")
        results[name] = ing.ingest_files(con, files, salt="s", batch_bytes=2)  # each file alone
        con.close()
    assert all(f.fast_path for f in results["fast"]) and not any(f.fast_path for f in results["slow"])
    counts = ("lines", "records", "rows_inserted", "duplicates", "quarantined", "merged")
    assert [[getattr(f, c) for c in counts] for f in results["fast"]] == [
        [getattr(f, c) for c in counts] for f in results["slow"]]
    assert sum(f.quarantined for f in results["fast"]) >= 40
    b = dbmod.connect(tmp_path / "slow.duckdb")
    b.execute(f"ATTACH '{tmp_path / 'fast.duckdb'}' AS a (READ_ONLY)")
    for table, cols in (("requests", "* EXCLUDE (ingested_at)"), ("provider_attempts", "*"),
                        ("quarantine", "* EXCLUDE (ingested_at)")):
        diff = b.sql(
            f"SELECT count(*) FROM ((SELECT {cols} FROM {table} EXCEPT ALL SELECT {cols} FROM a.{table}) "
            f"UNION ALL (SELECT {cols} FROM a.{table} EXCEPT ALL SELECT {cols} FROM {table}))"
        ).fetchall()[0][0]
        assert diff == 0, table
    # the cut line keeps a masked prefix only: {"<str:10>": "<str:9>", ...
    assert b.sql("""SELECT reason FROM a.quarantine WHERE raw_line LIKE '{"<str:10>": "<str:9>"%'""").fetchall() == [("invalid JSON",)]
    b.close()
