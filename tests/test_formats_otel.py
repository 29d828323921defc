"""OpenTelemetry GenAI spans (OTLP/JSON and flattened): golden rows, tool spans, retries, bad lines."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from gatewaylens.formats import otel
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths
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
    # http_status only where the span reports one (no invented 200 for a success)
    assert attempts(con, f["request_id"]) == [(1, "openai", 429), (2, "azure", None)]
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
        # orphan tool span, agent span only, two requests in one OTLP line (two rows)
        flat_span("0x99", "0x01", "0x02", "2025-06-01T10:00:00Z", "2025-06-01T10:00:01Z", TOOL),
        flat_span("0x98", "0x01", None, "2025-06-01T10:00:00Z", "2025-06-01T10:00:01Z",
                  {"gen_ai.operation.name": "invoke_agent"}),
        otlp_line([otlp_span("7" * 32, "0000000000000001", "", T0 * NS, T0 * NS + NS, chat_attrs()),
                   otlp_span("7" * 32, "0000000000000002", "", T0 * NS + 2 * NS, T0 * NS + 3 * NS, chat_attrs())]),
    ]
    res = ingest(con, tmp_path, records)
    assert (res.lines, res.records, res.rows_inserted, res.merged, res.quarantined) == (7, 8, 4, 2, 2)
    r = rows(con)
    c = r["5b8efff798038103d269b633813fc60c-051581bf3cb55c13"]
    assert (c["tool_call_count"], c["finish_reason"], c["app"], c["latency_ms"]) == (2, "tool_calls", "flat-app", 1250.0)
    assert r["f" * 32 + "-1234567812345678"]["ts"].isoformat() == "2025-06-01T10:00:00+00:00"
    assert [r["7" * 32 + f"-000000000000000{i}"]["line_no"] for i in (1, 2)] == [7, 7]
    q = quarantine(con)
    assert q == {5: "execute_tool span without its model call in this file", 6: q[6]}
    assert q[6].startswith("no model-call span")


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


# --- OTLP lines batching several traces (the collector's file exporter) ------------------------
def _chat(trace: str, span: str, start_s: float, parent: str = "", **attrs) -> dict:
    return otlp_span(trace, span, parent, int((T0 + start_s) * NS), int((T0 + start_s + 1) * NS), chat_attrs(**attrs))


def _tool(trace: str, span: str, parent: str, start_s: float) -> dict:
    return otlp_span(trace, span, parent, int((T0 + start_s) * NS), int((T0 + start_s + 0.5) * NS), TOOL,
                     name="execute_tool")


A, B, C, D, E = ("a" * 31 + "1", "b" * 31 + "2", "c" * 31 + "3", "d" * 31 + "4", "e" * 31 + "5")


def _batched_lines() -> list[dict]:
    """Two export lines holding five traces. Line 1: A (two tool calls), B (whose tool span is in
    line 2), C (a failed attempt then a retry); line 2, two resources (services): D and B's tool
    span from batch-app, E (one tool call) from other-app. The spans of line 1 are not in
    start-time order."""
    return [
        otlp_line([
            _chat(B, "00000000000000b1", 5, gen_ai__response__finish_reasons=["tool_calls"]),
            _chat(A, "00000000000000a1", 0, gen_ai__response__finish_reasons=["tool_calls"]),
            _tool(A, "00000000000000a2", "00000000000000a1", 1.2),
            _tool(A, "00000000000000a3", "00000000000000a1", 1.4),
            otlp_span(C, "00000000000000c1", "", (T0 + 2) * NS, (T0 + 2) * NS + NS // 10, chat_attrs(
                gen_ai__response__model=DROP, gen_ai__response__finish_reasons=DROP, gen_ai__usage__input_tokens=DROP,
                gen_ai__usage__output_tokens=DROP, error__type="429", http__response__status_code=429), error=True),
            _chat(C, "00000000000000c2", 2.5, gen_ai__provider__name="azure.ai.openai"),
        ]),
        {"resourceSpans": [
            *otlp_line([_chat(D, "00000000000000d1", 10), _tool(B, "00000000000000b2", "00000000000000b1", 6.1)],
                       service="batch-app")["resourceSpans"],
            *otlp_line([_chat(E, "00000000000000e1", 11, gen_ai__response__finish_reasons=["tool_calls"]),
                        _tool(E, "00000000000000e2", "00000000000000e1", 12.1)], service="other-app")["resourceSpans"],
        ]},
    ]


def test_otlp_line_with_several_traces_yields_one_row_per_request(con, tmp_path):
    res = ingest(con, tmp_path, _batched_lines())
    assert (res.lines, res.records, res.rows_inserted, res.duplicates, res.merged, res.quarantined) == (2, 5, 5, 0, 0, 0)
    r = rows(con)
    got = {rid.split("-")[0]: (row["line_no"], row["tool_call_count"], row["attempts"], row["finish_reason"])
           for rid, row in r.items()}
    assert got == {A: (1, 2, 1, "tool_calls"), B: (1, 1, 1, "tool_calls"), C: (1, 0, 2, "stop"),
                   D: (2, 0, 1, "stop"), E: (2, 1, 1, "tool_calls")}
    assert len(set(r)) == 5
    assert attempts(con, C + "-00000000000000c2") == [(1, "openai", 429), (2, "azure", None)]
    assert [r[k]["app"] for k in (A + "-00000000000000a1", D + "-00000000000000d1", E + "-00000000000000e1")] == [
        "agent-app", "batch-app", "other-app"]  # each resource's service.name
    assert con.sql("SELECT lines, records, rows_inserted FROM ingested_files").fetchall() == [(2, 5, 5)]


def test_records_of_a_line_are_numbered_by_start_time(tmp_path):
    """staged_sql gives a line holding k requests k rows, record_no 0..k-1 in the order of the
    request spans' start times (then span id), whatever their order in the line."""
    lines = [json.dumps(x) for x in _batched_lines()]
    table = pa.table({"line_no": pa.array([1, 2], pa.int64()), "line": pa.array(lines, pa.large_string())})
    con = duckdb.connect()
    con.register("src", table)
    got = con.sql(f"SELECT line_no, record_no, request_id, merged, reason FROM ({otel.staged_sql('src')}) ORDER BY 1, 2").fetchall()
    assert got == [
        (1, 0, A + "-00000000000000a1", False, None),  # starts at +0 s
        (1, 1, C + "-00000000000000c2", False, None),  # the retry starts at +2.5 s
        (1, 2, B + "-00000000000000b1", False, None),  # +5 s, though first in the line
        (2, 0, D + "-00000000000000d1", False, None),
        (2, 1, E + "-00000000000000e1", False, None),
    ]


def test_batched_line_with_a_stored_request_counts_it_as_duplicate(con, tmp_path):
    first = ingest(con, tmp_path, [otlp_line([_chat(A, "00000000000000a1", 0)])], name="first.jsonl")
    assert (first.records, first.rows_inserted) == (1, 1)
    res = ingest(con, tmp_path, [otlp_line([_chat(D, "00000000000000d1", 10), _chat(A, "00000000000000a1", 0),
                                            _chat(E, "00000000000000e1", 11)])], name="second.jsonl")
    assert (res.lines, res.records, res.rows_inserted, res.duplicates, res.quarantined) == (1, 3, 2, 1, 0)
    assert sorted(k.split("-")[0] for k in rows(con)) == [A, D, E]
    assert con.sql("SELECT count(*) FROM provider_attempts").fetchall() == [(3,)]


def test_request_repeated_in_a_later_batched_line_first_occurrence_wins(con, tmp_path):
    res = ingest(con, tmp_path, [
        otlp_line([_chat(A, "00000000000000a1", 0)]),
        otlp_line([_chat(D, "00000000000000d1", 10), _chat(A, "00000000000000a1", 0, gen_ai__response__model="gpt-5-mini")]),
    ])
    assert (res.lines, res.records, res.rows_inserted, res.duplicates) == (2, 3, 2, 1)
    r = rows(con)
    assert (r[A + "-00000000000000a1"]["line_no"], r[A + "-00000000000000a1"]["model"]) == (1, "openai/gpt-5")
    assert r[D + "-00000000000000d1"]["line_no"] == 2


def test_a_bad_trace_in_a_batched_line_is_quarantined_alone(con, tmp_path):
    """One bad span sets aside its own trace (one quarantined record naming it); the line's other
    requests are ingested. Only a bad span that names no trace spoils its whole line."""
    no_trace = _chat(D, "00000000000000d2", 12)
    no_trace.pop("traceId")
    res = ingest(con, tmp_path, [
        otlp_line([_chat(A, "00000000000000a1", 0), _chat(B, "00000000000000b1", 1, gen_ai__usage__input_tokens="many"),
                   _chat(C, "00000000000000c1", 2)]),
        # a value only ingest's common checks reject (negative tokens) sets aside that request only
        otlp_line([_chat(D, "00000000000000d1", 10), _chat(E, "00000000000000e1", 11, gen_ai__usage__output_tokens=-3)]),
        otlp_line([_chat("f" * 32, "00000000000000f1", 20), no_trace]),
        otlp_line([_chat("f" * 32, "00000000000000f1", 20), _chat("9" * 32, "0000000000000091", 21)]),
    ])
    # line 1: A, C in, B out; line 2: D in, E out; line 3 out whole; line 4: f (a duplicate of
    # nothing: line 3 was rejected) and 9 in
    assert (res.lines, res.records, res.rows_inserted, res.duplicates, res.quarantined, res.merged) == (4, 8, 5, 0, 3, 0)
    assert res.records == res.rows_inserted + res.duplicates + res.quarantined + res.merged
    assert sorted(k.split("-")[0] for k in rows(con)) == sorted([A, C, D, "f" * 32, "9" * 32])
    got = con.sql("SELECT line_no, reason, detail FROM quarantine ORDER BY line_no").fetchall()
    assert got == [
        (1, "wrong type: gen_ai.usage.input_tokens must be an integer", f"record 2 of the 3 in this line: {B}"),
        (2, "negative value: output_tokens", f"record 2 of the 2 in this line: {E}-00000000000000e1"),
        (3, "missing required field: traceId", None),
    ]
    assert con.sql("SELECT count(*) FROM provider_attempts").fetchall() == [(5,)]
    assert con.sql("SELECT records, rows_inserted, quarantined FROM ingested_files").fetchall() == [(8, 5, 3)]


def test_generator_batches_only_otel(tmp_path):
    with pytest.raises(ValueError, match="--otel-batch only applies to --format otel"):
        generate(days=1, requests_per_day=5, seed=1, out=tmp_path / "x", fmt="litellm", otel_batch=3)
    res = generate(days=1, requests_per_day=40, seed=1, out=tmp_path / "o", fmt="otel", otel_batch=6)
    lines = res.files[0].read_text().splitlines()
    assert len(lines) == -(-res.rows // 6)  # ceil: 6 requests per line, the day's last line fewer


def test_collector_sized_batch_line_of_several_mib_is_ingested(con, tmp_path):
    """The collector's file exporter writes thousands of spans per line (several MiB): such a
    line is read like any other, one row per request."""
    res = generate(days=1, requests_per_day=3000, seed=4, out=tmp_path / "big", fmt="otel", otel_batch=3000)
    path = res.files[0]
    size = max(len(line) for line in path.read_bytes().splitlines())
    assert size > 2 << 20  # one line of more than 2 MiB
    summary = ingest_paths(con, [path], salt="s")
    assert (summary.quarantined, summary.rows_inserted) == (0, res.rows)
    assert summary.records == summary.rows_inserted + summary.duplicates + summary.merged
