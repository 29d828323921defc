"""Raw response envelopes (OpenAI Chat Completions / Responses, Anthropic Messages): golden rows, bad lines."""

from __future__ import annotations

import json

from tests.test_formats_fixtures import (
    DROP, anthropic_message, attempts, chat_completion, envelope, ingest, quarantine, responses_object, rows,
)


def test_envelope_golden(con, tmp_path):
    records = [
        envelope("e-chat-tool", chat_completion("tool_calls", tool_calls=2), ts="2025-06-01T12:00:00+02:00"),
        envelope("e-chat-stop", chat_completion(reasoning=None, cached=None), request=DROP, timestamp=1748772000,
                 ts=DROP),
        envelope("e-resp-tool", responses_object(function_calls=1, reasoning=0),
                 request={"model": "gpt-5-mini", "input": "x", "stream": True}),
        envelope("e-resp-len", responses_object("incomplete", incomplete="max_output_tokens", reasoning=None)),
        envelope("e-anth-tool", anthropic_message("tool_use", tool_uses=1, thinking=30), provider="Anthropic"),
        envelope("e-anth-len", anthropic_message("max_tokens")),
        envelope("e-anth-refusal", anthropic_message("refusal")),
        envelope("e-err", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                 status=529, provider="anthropic", request={"model": "claude-sonnet-4-5"},
                 attempts=[{"provider": "amazon-bedrock", "http_status": 503, "latency_ms": 40.0},
                           {"provider": "anthropic", "http_status": 529, "latency_ms": 60.0}]),
        envelope("e-odd", chat_completion("something_new")),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined) == (9, 0)
    r = rows(con)
    c = r["e-chat-tool"]
    assert (c["source_format"], c["model"], c["provider"], c["app"], c["finish_reason"], c["tool_call_count"]) == (
        "envelope", "openai/gpt-5", "openai", "inhouse-app", "tool_calls", 2)
    assert (c["input_tokens"], c["cached_tokens"], c["output_tokens"], c["reasoning_tokens"]) == (300, 64, 80, 10)
    assert (c["tools_offered"], c["streamed"], c["http_status"], c["latency_ms"]) == (True, False, 200, 900.0)
    assert c["ts"].isoformat() == "2025-06-01T10:00:00+00:00"  # +02:00 -> UTC
    s = r["e-chat-stop"]
    assert (s["finish_reason"], s["reasoning_tokens"], s["cached_tokens"], s["tools_offered"], s["streamed"]) == (
        "stop", None, None, None, None)
    assert s["ts"].isoformat() == "2025-06-01T10:00:00+00:00"  # epoch seconds
    rt = r["e-resp-tool"]
    assert (rt["finish_reason"], rt["tool_call_count"], rt["reasoning_tokens"], rt["cached_tokens"], rt["model"],
            rt["tools_offered"], rt["streamed"]) == ("tool_calls", 1, 0, 512, "openai/gpt-5-mini", False, True)
    rl = r["e-resp-len"]
    assert (rl["finish_reason"], rl["native_finish_reason"], rl["reasoning_tokens"]) == ("length", "max_output_tokens", None)
    a = r["e-anth-tool"]
    # Anthropic input_tokens exclude the cache: 50 + 1000 read + 200 written
    assert (a["input_tokens"], a["cached_tokens"], a["output_tokens"], a["reasoning_tokens"]) == (1250, 1000, 90, 30)
    assert (a["finish_reason"], a["tool_call_count"], a["model"], a["provider"]) == (
        "tool_calls", 1, "anthropic/claude-sonnet-4.5", "anthropic")
    assert (r["e-anth-len"]["finish_reason"], r["e-anth-len"]["reasoning_tokens"]) == ("length", None)
    assert r["e-anth-refusal"]["finish_reason"] == "content_filter"
    e = r["e-err"]
    assert (e["status"], e["finish_reason"], e["http_status"], e["error_type"], e["model"], e["attempts"]) == (
        "error", "error", 529, "overloaded_error", "anthropic/claude-sonnet-4.5", 2)
    assert attempts(con, "e-err") == [(1, "amazon-bedrock", 503), (2, "anthropic", 529)]
    assert (r["e-odd"]["finish_reason"], r["e-odd"]["native_finish_reason"]) == ("other", "something_new")


def test_envelope_bad_lines(con, tmp_path):
    good = json.dumps(envelope("e-ok", chat_completion()))
    no_usage = chat_completion()
    del no_usage["usage"]
    wrong = chat_completion()
    wrong["usage"]["prompt_tokens"] = "300"
    neg = chat_completion()
    neg["usage"]["completion_tokens"] = -2
    records = [
        good[:50],
        envelope("e-wt", wrong),
        envelope("e-nu", no_usage),
        envelope("e-neg", neg),
        envelope("e-unk", chat_completion("novel")),
        envelope("e-ts", chat_completion(), ts="31/12/2025"),
        envelope("e-shape", {"hello": "world"}),
        good,
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined) == (2, 6)
    q = quarantine(con)
    assert q[1] == "invalid JSON"
    assert q[2] == "wrong type: response.usage.prompt_tokens must be an integer"
    assert q[3] == "missing usage: response.usage"
    assert q[4] == "negative value: output_tokens"
    assert q[6] == "unparseable timestamp: ts"
    assert q[7].startswith("unrecognised response object")
    assert rows(con)["e-unk"]["finish_reason"] == "other"
