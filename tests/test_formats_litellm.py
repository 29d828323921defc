"""LiteLLM StandardLoggingPayload: golden rows, trace_id merging, both timestamp styles, bad lines."""

from __future__ import annotations

import json

from tests.test_formats_fixtures import (
    DROP, ISO0, T0, attempts, ingest, litellm, litellm_failure, quarantine, rows,
)


def _resp(finish="stop", tool_calls=0, reasoning=64, cached=1024):
    r = litellm()["response"]
    r["choices"][0]["finish_reason"] = finish
    if tool_calls:
        r["choices"][0]["message"]["tool_calls"] = [
            {"id": f"c{i}", "type": "function", "function": {"name": "lookup", "arguments": "{}"}} for i in range(tool_calls)]
    if reasoning is None:
        del r["usage"]["completion_tokens_details"]
    else:
        r["usage"]["completion_tokens_details"]["reasoning_tokens"] = reasoning
    if cached is None:
        del r["usage"]["prompt_tokens_details"]
    return r


def test_litellm_golden(con, tmp_path):
    records = [
        litellm("c-stop", "t-stop"),
        # tool call with two tool calls; ISO timestamps (naive = UTC); reasoning reported zero
        litellm("c-tool", "t-tool", startTime=f"{ISO0}.500000", endTime=f"{ISO0[:-2]}03.000000",
                completionStartTime=f"{ISO0}.900000", response=_resp("tool_calls", 2, reasoning=0)),
        # length; reasoning not reported; no cached tokens; no tools offered; not streamed
        litellm("c-len", "t-len", stream=False, model_parameters={"temperature": 0},
                response=_resp("length", reasoning=None, cached=None)),
        # failover: two failures (anthropic 429, bedrock 503), then vertex succeeds — out of line order
        litellm("c-fo-3", "t-fo", custom_llm_provider="vertex_ai", model="vertex_ai/claude-sonnet-4-5@20250929",
                startTime=T0 + 1.0, endTime=T0 + 3.0, completionStartTime=T0 + 1.4, response_cost=0.01,
                response=_resp("tool_calls", 1)),
        litellm_failure("c-fo-1", "t-fo", "anthropic", "429", T0 + 0.0, model="claude-sonnet-4-5-20250929"),
        litellm_failure("c-fo-2", "t-fo", "bedrock", "503", T0 + 0.5,
                        model="bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"),
        # final failure (error); no trace id -> the call id is the request id
        litellm_failure("c-err", None, "openai", "500", T0 + 5, model="gpt-5-mini",
                        error_information={"error_code": "500", "error_class": "InternalServerError",
                                           "llm_provider": "openai"}),
        # unknown finish reason; no model_parameters -> tools_offered unknown
        litellm("c-odd", "t-odd", model_parameters=DROP, response=_resp("eos_token_weird")),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.merged, res.quarantined) == (6, 2, 0)
    r = rows(con)
    s = r["t-stop"]
    assert (s["source_format"], s["model"], s["provider"], s["app"], s["status"], s["http_status"]) == (
        "litellm", "openai/gpt-5-mini", "openai", "support-bot", "success", None)
    assert (s["finish_reason"], s["tools_offered"], s["tool_call_count"], s["streamed"]) == ("stop", True, 0, True)
    assert (s["input_tokens"], s["cached_tokens"], s["output_tokens"], s["reasoning_tokens"]) == (1200, 1024, 100, 64)
    assert s["ts"].isoformat() == "2025-06-01T10:00:00.500000+00:00"  # epoch float
    assert (s["latency_ms"], s["ttft_ms"], s["cost_usd"]) == (2000.0, 500.0, 0.0042)
    t = r["t-tool"]
    assert t["ts"].isoformat() == "2025-06-01T10:00:00.500000+00:00"  # ISO string, same instant style
    assert (t["finish_reason"], t["tool_call_count"], t["reasoning_tokens"], t["latency_ms"], t["ttft_ms"]) == (
        "tool_calls", 2, 0, 2500.0, 400.0)
    ln = r["t-len"]
    assert (ln["finish_reason"], ln["reasoning_tokens"], ln["cached_tokens"], ln["tools_offered"], ln["streamed"],
            ln["ttft_ms"]) == ("length", None, None, False, False, None)
    f = r["t-fo"]
    assert (f["attempts"], f["provider"], f["model"], f["status"], f["finish_reason"]) == (
        3, "google-vertex", "anthropic/claude-sonnet-4.5", "success", "tool_calls")
    assert f["ts"].isoformat() == "2025-06-01T10:00:00+00:00" and f["latency_ms"] == 3000.0
    assert attempts(con, "t-fo") == [(1, "anthropic", 429), (2, "amazon-bedrock", 503), (3, "google-vertex", None)]  # a success reports no HTTP status
    e = r["c-err"]
    assert (e["status"], e["finish_reason"], e["http_status"], e["error_type"]) == ("error", "error", 500, "InternalServerError")
    o = r["t-odd"]
    assert (o["finish_reason"], o["native_finish_reason"], o["tools_offered"]) == ("other", "eos_token_weird", None)


def test_litellm_bad_lines(con, tmp_path):
    good = json.dumps(litellm("c-ok", "t-ok"))
    records = [
        good[:100],                                                              # truncated JSON
        litellm("c-wt", "t-wt", prompt_tokens="1200"),                           # wrong type
        litellm("c-nu", "t-nu", prompt_tokens=DROP, completion_tokens=DROP,
                response={"id": "x", "choices": [{"finish_reason": "stop"}]}),  # missing usage
        litellm("c-neg", "t-neg", completion_tokens=-1),                         # negative
        litellm("c-unk", "t-unk", response=_resp("no_idea")),                    # unknown finish -> other
        litellm("c-ts", "t-ts", startTime="not a time"),
        litellm("c-emb", "t-emb", call_type="aembedding"),
        litellm("c-st", "t-st", status="maybe"),
        litellm("c-ok", "t-ok"),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined, res.merged) == (2, 7, 0)
    q = quarantine(con)
    assert q[1] == "invalid JSON"
    assert q[2] == "wrong type: prompt_tokens must be an integer"
    assert q[3].startswith("missing usage")
    assert q[4] == "negative value: output_tokens"
    assert q[6] == "unparseable timestamp: startTime"
    assert q[7] == "unsupported call_type (not a text generation)"
    assert q[8] == "invalid value: status must be success or failure"
    assert rows(con)["t-unk"]["finish_reason"] == "other"
