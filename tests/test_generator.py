"""The traffic generator: determinism, validity, injected signals match truth.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from pydantic import ValidationError

from gatewaylens.catalog import load_catalog
from gatewaylens.generator import generate, simulate
from gatewaylens.generator.simulate import default_start
from gatewaylens.schema import CanonicalLine

START = dt.date(2025, 1, 1)


def _hash_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, dict, duckdb.DuckDBPyConnection]:
    """120 days x 1500 requests/day, no bad lines; a DuckDB view ``r`` over the JSONL."""
    out = tmp_path_factory.mktemp("big")
    res = generate(120, 1500, 7, out, start=START)
    truth = json.loads(res.truth_path.read_text())
    con = duckdb.connect()
    con.execute(
        f"""
        CREATE VIEW r AS
        SELECT *, strptime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS t
        FROM read_json('{out}/*/*/*/requests.jsonl', format = 'newline_delimited',
            columns = {{request_id: 'VARCHAR', ts: 'VARCHAR', app: 'VARCHAR', model: 'VARCHAR',
                       provider: 'VARCHAR', status: 'VARCHAR', http_status: 'INTEGER',
                       finish_reason: 'VARCHAR', output_tokens: 'BIGINT', reasoning_tokens: 'BIGINT',
                       cost_usd: 'DOUBLE', tools_offered: 'BOOLEAN',
                       attempts: 'STRUCT(provider VARCHAR, http_status INTEGER, latency_ms DOUBLE, ts VARCHAR)[]'}})
        """
    )
    return out, truth, con


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    res = generate(10, 200, 3, out, start=START, bad_rate=0.05)
    return out, json.loads(res.truth_path.read_text())


def test_deterministic_bytes(tmp_path: Path, small) -> None:
    out, _ = small
    again = generate(10, 200, 3, tmp_path / "again", start=START, bad_rate=0.05)
    other = generate(10, 200, 4, tmp_path / "other", start=START, bad_rate=0.05)
    assert _hash_tree(out) == _hash_tree(tmp_path / "again")
    assert again.rows == 2000
    h_other = _hash_tree(tmp_path / "other")
    assert h_other.keys() == _hash_tree(out).keys()
    assert all(h_other[k] != v for k, v in _hash_tree(out).items())
    assert other.rows == 2000


def test_lines_validate_and_bad_counts(small) -> None:
    out, truth = small
    files = sorted(out.rglob("requests.jsonl"))
    assert len(files) == 10
    valid, invalid, ids = 0, 0, []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                rec = CanonicalLine.model_validate_json(line)
            except ValidationError:
                invalid += 1
                continue
            valid += 1
            ids.append(rec.request_id)
            if rec.finish_reason == "tool_calls":
                assert rec.tools_offered and rec.tool_call_count >= 1
            if rec.attempts:
                assert rec.attempts[-1].provider == rec.provider
    assert truth["total_requests"] == 2000
    dupes = len(ids) - len(set(ids))
    assert dupes == truth["duplicate_lines"] > 0
    assert valid == 2000 + truth["duplicate_lines"]
    assert invalid == sum(truth["bad_lines"].values())
    assert sum(1 for v in truth["bad_lines"].values() if v) >= 6  # a real mix of kinds
    assert 0.03 < (invalid + dupes) / 2000 < 0.07


def test_row_count_and_files(big) -> None:
    out, truth, con = big
    assert con.execute("SELECT count(*), count(DISTINCT request_id) FROM r").fetchone() == (180_000, 180_000)
    assert len(list(out.rglob("requests.jsonl"))) == 120 == len(truth["daily"])
    # each file holds only its own day, ordered by ts
    f = out / "2025" / "02" / "14" / "requests.jsonl"
    ts = [json.loads(line)["ts"] for line in f.read_text().splitlines()]
    assert ts == sorted(ts) and all(t.startswith("2025-02-14T") for t in ts)


def test_monthly_tool_call_rate_matches_truth(big) -> None:
    _, truth, con = big
    got = dict(
        con.execute(
            """SELECT strftime(t, '%Y-%m'), avg((finish_reason = 'tool_calls')::INT)
               FROM r WHERE status = 'success' GROUP BY 1"""
        ).fetchall()
    )
    monthly = truth["monthly"]
    assert [m["month"] for m in monthly] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    for m in monthly:
        assert abs(got[m["month"]] - m["tool_call_rate"]) < 0.015, m
    rates = [got[m["month"]] for m in monthly]
    assert rates == sorted(rates) and rates[0] < 0.08 and rates[-1] > 0.22


def test_reasoning_share_rises_and_nulls(big) -> None:
    _, truth, con = big
    got = dict(
        con.execute(
            """SELECT strftime(t, '%Y-%m'), sum(reasoning_tokens) / sum(output_tokens)
               FROM r WHERE status = 'success' AND reasoning_tokens IS NOT NULL GROUP BY 1"""
        ).fetchall()
    )
    shares = [got[m["month"]] for m in truth["monthly"]]
    for m in truth["monthly"]:
        assert abs(got[m["month"]] - m["reasoning_share"]) < 0.01
    assert shares == sorted(shares) and shares[0] < 0.12 and shares[-1] > 0.4
    rr = truth["reasoning_reporting"]
    by_model = {
        m: (c, x)
        for m, c, x in con.execute(
            "SELECT model, count(reasoning_tokens), max(reasoning_tokens) FROM r WHERE status = 'success' GROUP BY 1"
        ).fetchall()
    }
    for m in rr["no"]:
        assert by_model[m][0] == 0
    for m in rr["zero"]:
        assert by_model[m][0] > 0 and by_model[m][1] == 0
    for m in rr["yes"]:
        assert by_model[m][1] > 0


def test_providers_degraded_and_outages(big) -> None:
    _, truth, con = big
    multi = con.execute(
        "SELECT count(*) FROM (SELECT model FROM r GROUP BY 1 HAVING count(DISTINCT provider) >= 2)"
    ).fetchone()[0]
    assert multi >= 3
    for dp in truth["degraded_pairs"]:
        rows = dict(
            con.execute(
                """SELECT provider = $p,
                          [avg((finish_reason = 'tool_calls')::INT) FILTER (WHERE status = 'success'),
                           avg((status = 'error')::INT), count(*)]
                   FROM r WHERE model = $m AND t >= '2025-03-01' GROUP BY 1""",
                {"p": dp["provider"], "m": dp["model"]},
            ).fetchall()
        )
        bad, good = rows[True], rows[False]
        assert bad[0] < good[0] * 0.75  # fewer tool calls
        assert bad[1] > good[1] + 0.03  # more errors
        assert dp["traffic_share_of_model"] >= 0.08
    assert len(truth["outages"]) >= 1
    for o in truth["outages"]:
        rows = con.execute(
            """SELECT len(attempts), attempts[1].http_status, attempts[2].http_status, provider
               FROM r WHERE attempts[1].provider = $p AND ts >= $s AND ts < $e""",
            {"p": o["provider"], "s": o["start"], "e": o["end"]},
        ).fetchall()
        assert len(rows) == o["requests_failed_over"] > 0
        assert all(r[0] == 2 and r[1] == 503 and r[3] == o["failover_to"] for r in rows)
        assert all(r[2] == 200 for r in rows if r[2] is not None)


def test_batch_window_and_weekly_cycle(big) -> None:
    _, truth, con = big
    hours = dict(con.execute("SELECT hour(t), count(*) FROM r GROUP BY 1").fetchall())
    bw = truth["batch_window"]
    assert (bw["start_hour"], bw["end_hour"]) == (1, 3)
    for h in (1, 2):
        assert hours[h] > 3 * max(hours[0], hours[3], hours[4])
    assert max(range(24), key=lambda h: hours[h] if h not in (1, 2) else 0) in (13, 14, 15, 16)
    batch_apps = con.execute(
        "SELECT DISTINCT app FROM r WHERE app IN ('nightly-evals', 'batch-summarizer') AND hour(t) NOT IN (1, 2)"
    ).fetchall()
    assert batch_apps == []
    dow = dict(con.execute("SELECT isodow(t) >= 6, count(*) / count(DISTINCT t::DATE) FROM r GROUP BY 1").fetchall())
    assert 0.55 < dow[True] / dow[False] < 0.8


def test_cost_nulls_and_tools(big) -> None:
    _, _, con = big
    null_share, chat_tools = con.execute(
        """SELECT avg((cost_usd IS NULL)::INT),
                  count(*) FILTER (WHERE app = 'chat-web' AND finish_reason = 'tool_calls') FROM r"""
    ).fetchone()
    assert 0.10 < null_share < 0.20
    assert chat_tools == 0


def test_simulate_frame_healthy_pairs_identical() -> None:
    frame, truth = simulate(20, 400, 11, start=START)
    assert frame.height == 8000 and frame["request_id"].n_unique() == 8000
    assert frame.schema["attempts"] == pl.List(
        pl.Struct({"provider": pl.String, "http_status": pl.Int32, "latency_ms": pl.Float64,
                   "ts": pl.Datetime("ms", "UTC")})
    )
    degraded = pl.struct("model", "provider").is_in(
        pl.DataFrame(truth["degraded_pairs"]).select(pl.struct("model", "provider")).to_series().implode()
    )
    per = (
        frame.filter(pl.col("tool_call_probability") > 0)
        .group_by("day", "app", "model", degraded.alias("deg"))
        .agg(pl.col("tool_call_probability").n_unique().alias("k"))
    )
    assert per["k"].max() == 1  # healthy providers of a model share one probability


def test_unknown_format_and_default_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown output format"):
        generate(1, 10, 1, tmp_path, start=START, fmt="nope")
    assert default_start(30, today=dt.date(2025, 6, 30)) == dt.date(2025, 5, 31)


def test_catalog_env_override(tmp_path: Path, monkeypatch) -> None:
    base = load_catalog()
    assert base.height >= 10 and set(base["tier"]) <= {"frontier", "small", "specialty", "other"}
    extra = tmp_path / "cat.csv"
    extra.write_text(
        "model,vendor,tier,input_usd_per_mtok,output_usd_per_mtok,cached_input_usd_per_mtok,reports_reasoning\n"
        "openai/gpt-5,openai,frontier,9,99,0.9,yes\nacme/new-1,acme,other,1,2,1,no\n"
    )
    monkeypatch.setenv("GATEWAYLENS_CATALOG", str(extra))
    cat = load_catalog()
    assert cat.height == base.height + 1
    assert cat.filter(pl.col("model") == "openai/gpt-5")["output_usd_per_mtok"].item() == 99
