"""Ingest fills model (canonical slug), model_raw, cost_estimated_usd and cost_source; the estimate
equals genai-prices' own calc_price for the request's model, provider and timestamp."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from genai_prices import Usage

from gatewaylens import prices
from gatewaylens.identity import resolve
from gatewaylens.ingest import ingest_paths
from tests.conftest import write_jsonl

LINES = [
    # request_id, ts, model (as the source spelled it), provider, tokens (in, cached, out, reasoning), cost_usd
    ("r1", "2025-06-01T10:00:00Z", "gpt-4.1-2025-04-14", "openai", (12_000, 4_000, 800, None), 0.02),
    ("r2", "2025-06-01T11:00:00Z", "us.anthropic.claude-sonnet-4-20250514-v1:0", "amazon-bedrock", (9_000, 3_000, 700, None), None),
    ("r3", "2025-06-09T23:00:00Z", "o3-2025-04-16", "openai", (10_000, 0, 5_000, 4_000), None),
    ("r4", "2025-06-10T01:00:00Z", "o3-2025-04-16", "openai", (10_000, 0, 5_000, 4_000), None),
    ("r5", "2025-06-01T12:00:00Z", "my-company-finetune-v7", "acme", (100, None, 10, None), None),
    ("r6", "2025-06-01T13:00:00Z", "llama-3.3-70b-versatile", "groq", (2_000, None, 900, None), 0.0),
    ("r7", "2025-06-01T14:00:00Z", "GPT-4.1", None, (1_000, None, 100, None), None),
]


@pytest.fixture
def ingested(con, tmp_path):
    records = []
    for rid, ts, model, provider, (inp, cached, out, reasoning), cost in LINES:
        rec = {"request_id": rid, "ts": ts, "model": model, "app": "a", "status": "success", "finish_reason": "stop",
               "input_tokens": inp, "output_tokens": out}
        for k, v in (("provider", provider), ("cached_tokens", cached), ("reasoning_tokens", reasoning), ("cost_usd", cost)):
            if v is not None:
                rec[k] = v
        records.append(rec)
    ingest_paths(con, [write_jsonl(tmp_path / "landing" / "f.jsonl", records)], salt="t")
    return {r[0]: r for r in con.execute(
        "SELECT request_id, model, model_raw, cost_usd, cost_estimated_usd, cost_source, ts FROM requests ORDER BY request_id"
    ).fetchall()}


def _calc(raw: str, provider: str | None, ts: dt.datetime, inp: int, cached: int | None, out: int, reasoning: int | None) -> float:
    model, ref = prices.price_model(raw, resolve(raw).model, provider)
    provider_obj = prices._providers()[ref.split(":")[1]]
    usage = Usage(input_tokens=inp, cache_read_tokens=cached or 0, output_tokens=out, output_reasoning_tokens=reasoning or 0)
    return float(model.calc_price(usage, provider_obj, genai_request_timestamp=ts).total_price)


def test_model_is_the_slug_and_model_raw_what_the_source_said(ingested) -> None:
    got = {rid: (row[1], row[2]) for rid, row in ingested.items()}
    assert got == {
        "r1": ("openai/gpt-4.1", "gpt-4.1-2025-04-14"),
        "r2": ("anthropic/claude-sonnet-4", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
        "r3": ("openai/o3", "o3-2025-04-16"),
        "r4": ("openai/o3", "o3-2025-04-16"),
        "r5": ("my-company-finetune-v7", "my-company-finetune-v7"),
        "r6": ("meta-llama/llama-3.3-70b-instruct", "llama-3.3-70b-versatile"),
        "r7": ("openai/gpt-4.1", "GPT-4.1"),
    }


def test_cost_source_and_estimate_per_request(ingested) -> None:
    assert {rid: row[5] for rid, row in ingested.items()} == {
        "r1": "logged", "r2": "estimated", "r3": "estimated", "r4": "estimated", "r5": "unknown", "r6": "logged",
        "r7": "estimated",
    }
    assert ingested["r5"][4] is None
    for rid, ts, model, provider, (inp, cached, out, reasoning), _ in LINES:
        if rid == "r5":
            continue
        want = _calc(model, provider, dt.datetime.fromisoformat(ts), inp, cached, out, reasoning)
        assert math.isclose(ingested[rid][4], want, rel_tol=1e-9), (rid, ingested[rid][4], want)
    assert ingested["r3"][4] > 2 * ingested["r4"][4], "priced at the request's own day (o3 price cut 2025-06-10)"
