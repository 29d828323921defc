"""OpenTelemetry GenAI spans (OTLP/JSON and flattened): golden rows, tool spans, retries, bad lines."""

from __future__ import annotations

import json

from tests.test_formats_fixtures import (
    DROP, T0, attempts, chat_attrs, flat_span, ingest, otlp_line, otlp_span, quarantine, rows,
)

NS = 10**9
TOOL = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "gen_ai.tool.call.arguments": "{}"}


def test_otel_otlp_golden(con, tmp_path):
    tr = "4bf92f3577b34da6a3ce929d0e0e4736"
    records = [
        # plain stop, older attribute names (gen_ai.system, prompt/completion tokens)
        otlp_line([otlp_span("a" * 32, "00f067aa0ba902b7", "", T0 * NS, T0 * NS + 1500 * 10**6, chat_attrs(
            gen_ai__system="openai", gen_ai__provider__name=DROP, gen_ai__usage__input_tokens=DROP,
            gen_ai__usage__output_tokens=DROP, gen_ai__usage__prompt_tokens=500, gen_ai__usage__completion_tokens=120))]),
        # tool call: Anthropic's tool_use finish reason, two execute_tool children in the same line
        otlp_line([
            otlp_span(tr, "1111111111111111", "", T0 * NS, T0 * NS + 2 * NS, chat_attrs(
                gen_ai__provider__name="anthropic", gen_ai__request__model="claude-sonnet-4-5",
                gen_ai__response__model="claude-sonnet-4-5-20250929", gen_ai__response__finish_reasons=["tool_use"],
                gen_ai__usage__reasoning__output_tokens=0)),
            otlp_span(tr, "2222222222222222", "1111111111111111", T0 * NS + 2 * NS, T0 * NS + 3 * NS, TOOL, name="execute_tool"),
            otlp_span(tr, "3333333333333333", "1111111111111111", T0 * NS + 3 * NS, T0 * NS + 4 * NS, TOOL, name="execute_tool"),
        ], service="support-agent"),
        # length, reasoning not reported, no cache attribute
        otlp_line([otlp_span("b" * 32, "00f067aa0ba902b8", "", T0 * NS, T0 * NS + NS, chat_attrs(
            gen_ai__response__finish_reasons=["length"], gen_ai__usage__reasoning__output_tokens=DROP,
            gen_ai__usage__cache_read__input_tokens=DROP))]),
        # failover: a failed span (429 at openai) then a successful retry at azure, under a gateway span
        otlp_line([
            otlp_span("c" * 32, "9999999999999999", "", T0 * NS, T0 * NS + 3 * NS, {"http.request.method": "POST"}, name="POST"),
            otlp_span("c" * 32, "aaaaaaaaaaaaaaa1", "9999999999999999", T0 * NS, T0 * NS + NS // 10, chat_attrs(
                gen_ai__response__model=DROP, gen_ai__response__finish_reasons=DROP, gen_ai__usage__input_tokens=DROP,
                gen_ai__usage__output_tokens=DROP, error__type="429", http__response__status_code=429), error=True),
            otlp_span("c" * 32, "aaaaaaaaaaaaaaa2", "9999999999999999", T0 * NS + NS // 5, T0 * NS + 2 * NS, chat_attrs(
                gen_ai__provider__name="azure.ai.openai")),
        ]),
        # error span
        otlp_line([otlp_span("d" * 32, "00f067aa0ba902b9", "", T0 * NS, T0 * NS + NS, chat_attrs(
            gen_ai__response__finish_reasons=DROP, gen_ai__usage__input_tokens=DROP, gen_ai__usage__output_tokens=DROP,
            gen_ai__usage__cache_read__input_tokens=DROP, gen_ai__usage__reasoning__output_tokens=DROP,
            error__type="timeout"), error=True)]),
        # unknown finish reason
        otlp_line([otlp_span("e" * 32, "00f067aa0ba902c0", "", T0 * NS, T0 * NS + NS, chat_attrs(
            gen_ai__response__finish_reasons=["mystery"]))]),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.merged, res.quarantined) == (6, 0, 0)
    r = rows(con)
    s = r["a" * 32 + "-00f067aa0ba902b7"]
    assert (s["source_format"], s["model"], s["provider"], s["app"], s["finish_reason"], s["status"]) == (
        "otel", "openai/gpt-5", "openai", "agent-app", "stop", "success")
    assert (s["input_tokens"], s["cached_tokens"], s["output_tokens"], s["reasoning_tokens"], s["latency_ms"]) == (
        500, 256, 120, 64, 1500.0)
    assert s["ts"].isoformat() == "2025-06-01T10:00:00+00:00"
    assert s["cost_usd"] is None and s["streamed"] is None and s["tools_offered"] is None
    t = r[tr + "-1111111111111111"]
    assert (t["finish_reason"], t["native_finish_reason"], t["tool_call_count"], t["reasoning_tokens"], t["app"],
            t["model"]) == ("tool_calls", "tool_use", 2, 0, "support-agent", "anthropic/claude-sonnet-4.5")
    ln = r["b" * 32 + "-00f067aa0ba902b8"]
    assert (ln["finish_reason"], ln["reasoning_tokens"], ln["cached_tokens"]) == ("length", None, None)
    f = r["c" * 32 + "-aaaaaaaaaaaaaaa2"]
    assert (f["attempts"], f["provider"], f["status"], f["latency_ms"]) == (2, "azure", "success", 2000.0)
    assert attempts(con, f["request_id"]) == [(1, "openai", 429), (2, "azure", 200)]
    e = r["d" * 32 + "-00f067aa0ba902b9"]
    assert (e["status"], e["finish_reason"], e["error_type"]) == ("error", "error", "timeout")
    assert r["e" * 32 + "-00f067aa0ba902c0"]["finish_reason"] == "other"


def test_otel_flattened_spans_and_tool_spans_in_other_lines(con, tmp_path):
    chat = chat_attrs(gen_ai__response__finish_reasons=["tool_calls"])
    records = [
        flat_span("0x5b8efff798038103d269b633813fc60c", "0x051581bf3cb55c13", None,
                  "2025-06-01T10:00:00.000000Z", "2025-06-01T10:00:01.250000Z", chat),
        flat_span("0x5b8efff798038103d269b633813fc60c", "0x051581bf3cb55c14", "0x051581bf3cb55c13",
                  "2025-06-01T10:00:01.300000Z", "2025-06-01T10:00:01.400000Z", TOOL),
        # a tool span whose parent is an agent span: attributed to the latest model call of its trace
        flat_span("0x5b8efff798038103d269b633813fc60c", "0x051581bf3cb55c15", "0x00000000000000aa",
                  "2025-06-01T10:00:01.500000Z", "2025-06-01T10:00:01.600000Z", TOOL),
        # OTLP chat span with nanosecond numbers instead of strings
        {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [
            {**otlp_span("f" * 32, "1234567812345678", "", T0 * NS, T0 * NS + NS, chat_attrs()),
             "startTimeUnixNano": T0 * NS, "endTimeUnixNano": T0 * NS + NS}]}]}]},
        # orphan tool span, agent span only, two requests in one OTLP line
        flat_span("0x99", "0x01", "0x02", "2025-06-01T10:00:00Z", "2025-06-01T10:00:01Z", TOOL),
        flat_span("0x98", "0x01", None, "2025-06-01T10:00:00Z", "2025-06-01T10:00:01Z",
                  {"gen_ai.operation.name": "invoke_agent"}),
        otlp_line([otlp_span("7" * 32, "0000000000000001", "", T0 * NS, T0 * NS + NS, chat_attrs()),
                   otlp_span("7" * 32, "0000000000000002", "", T0 * NS + 2 * NS, T0 * NS + 3 * NS, chat_attrs())]),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.merged, res.quarantined) == (2, 2, 3)
    r = rows(con)
    c = r["5b8efff798038103d269b633813fc60c-051581bf3cb55c13"]
    assert (c["tool_call_count"], c["finish_reason"], c["app"], c["latency_ms"]) == (2, "tool_calls", "flat-app", 1250.0)
    assert r["f" * 32 + "-1234567812345678"]["ts"].isoformat() == "2025-06-01T10:00:00+00:00"
    q = quarantine(con)
    assert q[5] == "execute_tool span without its model call in this file"
    assert q[6].startswith("no model-call span")
    assert q[7].startswith("several requests in one line")


def test_otel_bad_lines(con, tmp_path):
    good = json.dumps(otlp_line([otlp_span("a" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs())]))
    records = [
        good[:-10],                                                                        # truncated JSON
        otlp_line([otlp_span("b" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs(gen_ai__usage__input_tokens="many"))]),
        otlp_line([otlp_span("c" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs(
            gen_ai__usage__input_tokens=DROP, gen_ai__usage__output_tokens=DROP))]),           # missing usage
        otlp_line([otlp_span("d" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs(gen_ai__usage__output_tokens=-3))]),
        otlp_line([otlp_span("e" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs(gen_ai__response__finish_reasons=["huh"]))]),
        otlp_line([{**otlp_span("f" * 32, "1", "", T0 * NS, T0 * NS + NS, chat_attrs()), "startTimeUnixNano": "soon"}]),
        good,
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined) == (2, 5)
    q = quarantine(con)
    assert q[1] == "invalid JSON"
    assert q[2] == "wrong type: gen_ai.usage.input_tokens must be an integer"
    assert q[3].startswith("missing usage")
    assert q[4] == "negative value: output_tokens"
    assert q[6] == "unparseable timestamp: startTimeUnixNano"
    assert rows(con)["e" * 32 + "-1"]["finish_reason"] == "other"
