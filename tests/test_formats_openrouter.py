"""OpenRouter generation records: golden rows for every normalisation rule."""

from __future__ import annotations

import json

from tests.test_formats_fixtures import DROP, ingest, attempts, openrouter, quarantine, rows


def test_openrouter_golden(con, tmp_path):
    records = [
        openrouter("gen-stop"),
        # tool call, {"data": ...} wrapper, reasoning reported zero, dated permaslug through the alias table
        {"data": openrouter("gen-tool", finish_reason="tool_calls", native_finish_reason="tool_use",
                            native_tokens_reasoning=0, model="anthropic/claude-4.5-sonnet-20250929")},
        # length; reasoning not reported; not streamed; no cached tokens
        openrouter("gen-len", finish_reason="length", native_finish_reason="max_tokens",
                   native_tokens_reasoning=None, native_tokens_cached=None, streamed=False),
        # failover: Anthropic 429 then Amazon Bedrock 200
        openrouter("gen-failover", provider_name="Amazon Bedrock", provider_responses=[
            {"provider_name": "Anthropic", "status": 429, "latency": 120},
            {"provider_name": "Amazon Bedrock", "status": 200, "latency": 1700}]),
        # error: every provider failed
        openrouter("gen-err", finish_reason=None, native_finish_reason=None, tokens_prompt=0, tokens_completion=0,
                   native_tokens_prompt=0, native_tokens_completion=0, native_tokens_reasoning=None, native_tokens_cached=None,
                   provider_responses=[{"provider_name": "Anthropic", "status": 503, "latency": 50}]),
        # unknown finish reason -> other (kept as native); only normalised token counts
        openrouter("gen-odd", finish_reason="weird_reason", native_finish_reason=None,
                   native_tokens_prompt=DROP, native_tokens_completion=DROP),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined, res.merged) == (6, 0, 0)
    r = rows(con)
    s = r["gen-stop"]
    assert s["source_format"] == "openrouter"
    assert (s["model"], s["provider"], s["app"], s["status"], s["finish_reason"], s["native_finish_reason"]) == (
        "anthropic/claude-sonnet-4.5", "anthropic", "4242", "success", "stop", "end_turn")
    assert (s["input_tokens"], s["cached_tokens"], s["output_tokens"], s["reasoning_tokens"]) == (1200, 1000, 250, 40)
    assert (s["cost_usd"], s["latency_ms"], s["streamed"], s["attempts"], s["http_status"]) == (0.0123, 1850.5, True, 1, 200)
    assert s["ts"].isoformat() == "2025-06-01T10:00:00.250000+00:00"
    assert s["user_hash"] is not None and "user" not in s["user_hash"]
    assert s["tools_offered"] is None and s["ttft_ms"] is None  # not carried by OpenRouter
    t = r["gen-tool"]
    assert (t["finish_reason"], t["tool_call_count"], t["reasoning_tokens"], t["model"]) == (
        "tool_calls", 1, 0, "anthropic/claude-sonnet-4.5")
    ln = r["gen-len"]
    assert (ln["finish_reason"], ln["reasoning_tokens"], ln["cached_tokens"], ln["streamed"]) == ("length", None, None, False)
    f = r["gen-failover"]
    assert (f["attempts"], f["provider"], f["status"]) == (2, "amazon-bedrock", "success")
    assert attempts(con, "gen-failover") == [(1, "anthropic", 429), (2, "amazon-bedrock", 200)]
    e = r["gen-err"]
    assert (e["status"], e["finish_reason"], e["http_status"], e["reasoning_tokens"]) == ("error", "error", 503, None)
    o = r["gen-odd"]
    assert (o["finish_reason"], o["native_finish_reason"], o["input_tokens"], o["output_tokens"]) == (
        "other", "weird_reason", 1180, 240)


def test_openrouter_bad_lines(con, tmp_path):
    good = json.dumps(openrouter("gen-ok"))
    records = [
        good[: len(good) // 2],                                               # truncated JSON
        openrouter("gen-wrongtype", native_tokens_prompt="1200"),             # wrong type
        openrouter("gen-nousage", tokens_prompt=DROP, tokens_completion=DROP,
                   native_tokens_prompt=DROP, native_tokens_completion=DROP),  # missing usage
        openrouter("gen-negative", native_tokens_completion=-5),              # negative number
        openrouter("gen-unknown", finish_reason="mystery"),                   # unknown finish: kept as 'other'
        openrouter("gen-badts", created_at="yesterday"),
        {k: v for k, v in openrouter("gen-noid").items() if k != "id"},
        openrouter("gen-ok"),
        openrouter("gen-ok"),                                                 # duplicate
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.duplicates, res.quarantined) == (2, 1, 6)
    q = quarantine(con)
    assert q[1] == "invalid JSON"
    assert q[2] == "wrong type: native_tokens_prompt must be an integer"
    assert q[3].startswith("missing usage")
    assert q[4] == "negative value: output_tokens"
    assert q[6] == "unparseable timestamp: created_at"
    assert q[7] == "missing required field: id"
    assert rows(con)["gen-unknown"]["finish_reason"] == "other"
