"""Fixture builders for the gateway formats, written from each project's documented schema
(OpenRouter GET /api/v1/generation, LiteLLM StandardLoggingPayload, OTel GenAI semantic
conventions + OTLP/JSON, OpenAI Chat Completions / Responses, Anthropic Messages).

Every record carries message content / tool arguments containing :data:`MARKER`, so tests can
prove content never reaches the warehouse. Helpers ingest records into a real DuckDB file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb

from gatewaylens.ingest import FileResult, ingest_file
from tests.conftest import write_jsonl
from tests.fixtures.otel_conventions import any_value

MARKER = "SECRET-CONTENT-7f3a"
T0 = 1748772000  # 2025-06-01T10:00:00Z
ISO0 = "2025-06-01T10:00:00"


def ingest(con: duckdb.DuckDBPyConnection, tmp_path: Path, records: list, fmt: str | None = None,
           name: str = "log.jsonl") -> FileResult:
    res = ingest_file(con, write_jsonl(tmp_path / name, records), salt="test-salt", fmt=fmt)
    assert res.records == res.rows_inserted + res.duplicates + res.quarantined + res.merged, res
    assert res.records >= res.lines, res
    return res


def rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    rel = con.sql("SELECT * FROM requests ORDER BY line_no")
    cols = rel.columns
    return {r[0]: dict(zip(cols, r)) for r in rel.fetchall()}


def attempts(con: duckdb.DuckDBPyConnection, request_id: str) -> list[tuple]:
    return con.execute(
        "SELECT attempt_no, provider, http_status FROM provider_attempts WHERE request_id = ? ORDER BY attempt_no",
        [request_id],
    ).fetchall()


def quarantine(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(con.sql("SELECT line_no, reason FROM quarantine ORDER BY line_no").fetchall())


def dump_all_tables(con: duckdb.DuckDBPyConnection) -> str:
    """Every row of every table in the database, as text (for the content-marker test)."""
    tables = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()]
    return "\n".join(str(con.sql(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def merge(base: dict, **over: Any) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


DROP = object()


# --- OpenRouter generation record ------------------------------------------------------------
def openrouter(id: str = "gen-1", **over: Any) -> dict:
    rec = {
        "id": id, "upstream_id": "chatcmpl-abc", "total_cost": 0.0123, "cache_discount": None,
        "created_at": "2025-06-01T10:00:00.250+00:00", "model": "anthropic/claude-sonnet-4.5",
        "app_id": 4242, "streamed": True, "cancelled": False, "provider_name": "Anthropic",
        "latency": 1850.5, "moderation_latency": None, "generation_time": 1400, "finish_reason": "stop",
        "native_finish_reason": "end_turn", "tokens_prompt": 1180, "tokens_completion": 240,
        "native_tokens_prompt": 1200, "native_tokens_completion": 250, "native_tokens_reasoning": 40,
        "native_tokens_cached": 1000, "num_media_prompt": None, "num_search_results": None,
        "origin": "https://example.app/", "is_byok": False, "external_user": f"user-{MARKER}-not-content",
        "api_type": "completions",
        "provider_responses": [{"provider_name": "Anthropic", "status": 200, "latency": 1800, "id": "x",
                                "endpoint_id": "ep_1", "model_permaslug": "anthropic/claude-4.5-sonnet-20250929"}],
    }
    return merge(rec, **over)


# --- LiteLLM StandardLoggingPayload ------------------------------------------------------------
def litellm(id: str = "call-1", trace_id: str | None = "trace-1", **over: Any) -> dict:
    rec = {
        "id": id, "trace_id": trace_id, "call_type": "acompletion", "status": "success",
        "response_cost": 0.0042, "total_tokens": 1300, "prompt_tokens": 1200, "completion_tokens": 100,
        "startTime": T0 + 0.5, "endTime": T0 + 2.5, "completionStartTime": T0 + 1.0, "response_time": 2.0,
        "model": "gpt-5-mini", "model_id": "dep-1", "model_group": "fast", "custom_llm_provider": "openai",
        "api_base": "https://api.openai.com/v1", "stream": True, "end_user": "end-user-1",
        "metadata": {"user_api_key_hash": "h", "user_api_key_alias": "support-bot", "user_api_key_team_alias": "team-a",
                     "user_api_key_user_id": "key-user-1", "user_api_key_org_id": None, "requester_ip_address": None},
        "cache_hit": None, "request_tags": [], "requester_ip_address": None,
        "messages": [{"role": "user", "content": f"please {MARKER}"}],
        "model_parameters": {"temperature": 0.2, "tools": [{"type": "function", "function": {"name": "lookup",
                                                                                             "description": MARKER}}]},
        "error_str": None, "error_information": None, "hidden_params": {"model_id": "dep-1"},
        "response": {
            "id": "chatcmpl-1", "object": "chat.completion", "created": T0, "model": "gpt-5-mini-2025-08-07",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"answer {MARKER}"}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 100, "total_tokens": 1300,
                      "completion_tokens_details": {"reasoning_tokens": 64},
                      "prompt_tokens_details": {"cached_tokens": 1024}},
        },
    }
    return merge(rec, **over)


def litellm_failure(id: str, trace_id: str | None, provider: str, code: str, start: float, **over: Any) -> dict:
    fields: dict[str, Any] = dict(
        status="failure", custom_llm_provider=provider, prompt_tokens=0, completion_tokens=0, total_tokens=0,
        response_cost=0.0, startTime=start, endTime=start + 0.1, completionStartTime=start + 0.1, response=None,
        error_str=f"upstream said {MARKER}",
        error_information={"error_code": code, "error_class": "RateLimitError", "llm_provider": provider,
                           "error_message": MARKER})
    fields.update(over)
    return litellm(id, trace_id, **fields)


# --- OpenTelemetry ----------------------------------------------------------------------------
def otlp_span(trace: str, span: str, parent: str, start_ns: int, end_ns: int, attrs: dict, error: bool = False,
              name: str = "chat") -> dict:
    return {"traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": 3,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
            "attributes": [{"key": k, "value": any_value(v)} for k, v in attrs.items()],
            "status": {"code": 2, "message": "failed"} if error else {}}


def otlp_line(spans: list[dict], service: str = "agent-app") -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.1"}, "spans": spans}],
    }]}


def chat_attrs(**over: Any) -> dict:
    attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-5",
        "gen_ai.response.model": "gpt-5-2025-08-07", "gen_ai.response.id": "chatcmpl-9",
        "gen_ai.response.finish_reasons": ["stop"], "gen_ai.usage.input_tokens": 500,
        "gen_ai.usage.output_tokens": 120, "gen_ai.usage.cache_read.input_tokens": 256,
        "gen_ai.usage.reasoning.output_tokens": 64, "user.id": "otel-user-1",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": MARKER}]}]),
    }
    for k, v in over.items():
        key = k.replace("__", ".")
        if v is DROP:
            attrs.pop(key, None)
        else:
            attrs[key] = v
    return attrs


def flat_span(trace: str, span: str, parent: str | None, start: str, end: str, attrs: dict,
              status: str = "UNSET", service: str = "flat-app") -> dict:
    """The shape of the OpenTelemetry Python SDK's ``ReadableSpan.to_json()``."""
    return {"name": f"{attrs.get('gen_ai.operation.name')} x", "context": {"trace_id": trace, "span_id": span,
                                                                           "trace_state": "[]"},
            "kind": "SpanKind.CLIENT", "parent_id": parent, "start_time": start, "end_time": end,
            "status": {"status_code": status}, "attributes": attrs, "events": [], "links": [],
            "resource": {"attributes": {"service.name": service}, "schema_url": ""}}


# --- raw response envelopes --------------------------------------------------------------------
def envelope(request_id: str, response: dict, **over: Any) -> dict:
    rec = {"ts": "2025-06-01T10:00:00Z", "request_id": request_id, "provider": "openai", "app": "inhouse-app",
           "user": "env-user-1", "latency_ms": 900.0, "status": 200,
           "request": {"model": "gpt-5", "stream": False, "messages": [{"role": "user", "content": MARKER}],
                       "tools": [{"type": "function", "function": {"name": "search", "description": MARKER}}]},
           "response": response}
    return merge(rec, **over)


def chat_completion(finish: str = "stop", tool_calls: int = 0, reasoning: int | None = 10, cached: int | None = 64,
                    model: str = "gpt-5-2025-08-07") -> dict:
    msg: dict[str, Any] = {"role": "assistant", "content": None if tool_calls else f"reply {MARKER}"}
    if tool_calls:
        msg["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                              "function": {"name": "search", "arguments": json.dumps({"q": MARKER})}}
                             for i in range(tool_calls)]
    usage: dict[str, Any] = {"prompt_tokens": 300, "completion_tokens": 80, "total_tokens": 380}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"id": "chatcmpl-x", "object": "chat.completion", "created": T0, "model": model,
            "choices": [{"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}], "usage": usage}


def responses_object(status: str = "completed", function_calls: int = 0, incomplete: str | None = None,
                     reasoning: int | None = 32) -> dict:
    output: list[dict] = [{"type": "reasoning", "id": "rs_1", "summary": []}]
    output += [{"type": "function_call", "id": f"fc_{i}", "call_id": f"call_{i}", "name": "search",
                "arguments": json.dumps({"q": MARKER}), "status": "completed"} for i in range(function_calls)]
    if not function_calls:
        output.append({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": MARKER, "annotations": []}]})
    usage: dict[str, Any] = {"input_tokens": 700, "input_tokens_details": {"cached_tokens": 512},
                             "output_tokens": 200, "total_tokens": 900}
    if reasoning is not None:
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning}
    return {"id": "resp_1", "object": "response", "created_at": T0, "status": status, "error": None,
            "incomplete_details": {"reason": incomplete} if incomplete else None, "model": "gpt-5-mini-2025-08-07",
            "output": output, "usage": usage}


def anthropic_message(stop: str = "end_turn", tool_uses: int = 0, thinking: int | None = None) -> dict:
    content: list[dict] = [{"type": "text", "text": f"hi {MARKER}"}]
    content += [{"type": "tool_use", "id": f"toolu_{i}", "name": "search", "input": {"q": MARKER}} for i in range(tool_uses)]
    usage: dict[str, Any] = {"input_tokens": 50, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000,
                             "output_tokens": 90}
    if thinking is not None:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}
