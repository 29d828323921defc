"""Raw response envelopes from in-house gateways.

``{"ts"|"timestamp", "request_id"?, "provider", "app"?, "user"?, "latency_ms"?, "status"?,
"request"?: {...}, "response": {...}}`` where ``response`` is the provider's own response body:

* an OpenAI Chat Completions object (``object: "chat.completion"`` / ``choices``):
  ``choices[0].finish_reason`` (``tool_calls`` = tool call), tool calls =
  ``len(choices[0].message.tool_calls)``, ``usage.prompt_tokens`` / ``completion_tokens``,
  ``usage.completion_tokens_details.reasoning_tokens``, ``usage.prompt_tokens_details.cached_tokens``;
* an OpenAI Responses object (``object: "response"`` / ``output``): ``status`` 'completed' ->
  stop, or tool_calls when ``output[]`` holds ``function_call`` items (their number = tool calls);
  'incomplete' -> ``incomplete_details.reason`` (``max_output_tokens`` -> length,
  ``content_filter``); 'failed' -> error; ``usage.input_tokens`` / ``output_tokens``,
  ``usage.input_tokens_details.cached_tokens``, ``usage.output_tokens_details.reasoning_tokens``;
* an Anthropic Messages object (``type: "message"`` / ``stop_reason``): ``stop_reason``
  tool_use -> tool_calls, end_turn/stop_sequence -> stop, max_tokens -> length, refusal ->
  content_filter; tool calls = ``tool_use`` blocks in ``content``; ``usage.input_tokens``
  EXCLUDES the cache, so input_tokens = input_tokens + cache_read_input_tokens +
  cache_creation_input_tokens and cached_tokens = cache_read_input_tokens;
  ``usage.output_tokens_details.thinking_tokens`` -> reasoning_tokens;
* an error body (``{"error": {...}}``, Anthropic's ``{"type": "error", ...}``): status error,
  ``error.type`` -> error_type.

Envelope fields: ``ts``/``timestamp`` (ISO 8601, or epoch seconds/milliseconds) -> ts,
``request_id`` (else ``response.id``) -> request_id, ``provider`` -> provider (alias table),
``status`` (an HTTP status number, or 'success'/'error'), ``latency_ms``, ``ttft_ms``,
``cost_usd`` (optional), ``attempts`` (optional, same shape as the canonical format's),
``request.tools`` -> tools_offered (NULL when there is no ``request``), ``request.stream`` ->
streamed. Model: ``response.model``, else ``request.model``, else a top-level ``model``
(alias table). Message content
is never read.
"""

from __future__ import annotations

from gatewaylens.formats._common import (
    TypedFields, any_key_sql, blank_null, epoch_or_iso_sql, finish_sql, provider_sql, string_list_sql,
)

NAME = "envelope"

DETECT = "list_has(keys, 'response') AND " + any_key_sql("keys", ["ts", "timestamp"])

_P = {
    "ts": "ts",
    "timestamp": "timestamp",
    "request_id": "request_id",
    "provider": "provider",
    "app": "app",
    "user": "user",
    "latency_ms": "latency_ms",
    "ttft_ms": "ttft_ms",
    "cost_usd": "cost_usd",
    "status": "status",
    "attempts": "attempts",
    "req_model": "request.model",
    "env_model": "model",
    "req_tools": "request.tools",
    "req_stream": "request.stream",
    "object": "response.object",
    "rtype": "response.type",
    "model": "response.model",
    "rid": "response.id",
    "error": "response.error",
    "chat_finish": "response.choices[0].finish_reason",
    "chat_tool_calls": "response.choices[0].message.tool_calls",
    "prompt_tokens": "response.usage.prompt_tokens",
    "completion_tokens": "response.usage.completion_tokens",
    "chat_reasoning": "response.usage.completion_tokens_details.reasoning_tokens",
    "chat_cached": "response.usage.prompt_tokens_details.cached_tokens",
    "r_status": "response.status",
    "incomplete_reason": "response.incomplete_details.reason",
    "output": "response.output",
    "input_tokens": "response.usage.input_tokens",
    "output_tokens": "response.usage.output_tokens",
    "resp_reasoning": "response.usage.output_tokens_details.reasoning_tokens",
    "resp_cached": "response.usage.input_tokens_details.cached_tokens",
    "stop_reason": "response.stop_reason",
    "content": "response.content",
    "cache_read": "response.usage.cache_read_input_tokens",
    "cache_creation": "response.usage.cache_creation_input_tokens",
    "thinking": "response.usage.output_tokens_details.thinking_tokens",
    "service_tier": "response.service_tier",
    "usage_service_tier": "response.usage.service_tier",
    "session_id": "session_id",
    "team": "team",
    "tags": "tags",
    "agent": "agent",
}
KINDS: dict[str, str] = {
    "request_id": "str", "provider": "str", "app": "str", "user": "str", "latency_ms": "num", "ttft_ms": "num",
    "cost_usd": "num", "attempts": "list", "req_model": "str", "env_model": "str",
    "req_tools": "list", "req_stream": "bool", "model": "str", "chat_finish": "str", "chat_tool_calls": "list",
    "prompt_tokens": "int", "completion_tokens": "int", "chat_reasoning": "int", "chat_cached": "int",
    "r_status": "str", "incomplete_reason": "str", "output": "list", "input_tokens": "int",
    "output_tokens": "int", "resp_reasoning": "int", "resp_cached": "int", "stop_reason": "str",
    "content": "list", "cache_read": "int", "cache_creation": "int", "thinking": "int",
    "service_tier": "str", "usage_service_tier": "str", "session_id": "str", "team": "str", "tags": "list",
    "agent": "str",
}
F = TypedFields(_P, KINDS, nodes={"request": "request", "choices": "response.choices"})
LABELS = {n: _P[n] for n in KINDS}
_ATTEMPT_STRUCT = '[{"provider":"VARCHAR","http_status":"JSON","latency_ms":"JSON","ts":"VARCHAR"}]'


def staged_sql(source: str) -> str:
    v = {n: F.value(n, k) for n, k in KINDS.items()}
    fr = F.frag
    status_num = f"TRY_CAST({fr('status')} AS INTEGER)"
    status_word = f"CASE WHEN starts_with({fr('status')}, '\"') THEN json_extract_string(f_status, '$') END"
    return f"""
        WITH y AS (
            SELECT *,
                   {epoch_or_iso_sql(f"coalesce({fr('ts')}, {fr('timestamp')})")} AS ts_parsed,
                   CASE
                       WHEN {fr('error')} IS NOT NULL OR json_extract_string(f_rtype, '$') = 'error' THEN 'error'
                       WHEN json_extract_string(f_object, '$') = 'chat.completion' OR has_choices THEN 'chat'
                       WHEN json_extract_string(f_object, '$') = 'response' OR starts_with({fr('output')}, '[') THEN 'responses'
                       WHEN json_extract_string(f_rtype, '$') = 'message' OR {fr('stop_reason')} IS NOT NULL THEN 'anthropic'
                   END AS shape,
                   CASE WHEN starts_with({fr('attempts')}, '[')
                        THEN try(json_transform(f_attempts, '{_ATTEMPT_STRUCT}')) END AS att
            FROM {F.cut(source)}
        ), z AS (
            SELECT *,
                   CASE shape
                       WHEN 'chat' THEN {v['prompt_tokens']}
                       WHEN 'responses' THEN {v['input_tokens']}
                       WHEN 'anthropic' THEN {v['input_tokens']} + coalesce({v['cache_read']}, 0) + coalesce({v['cache_creation']}, 0)
                   END AS in_tok,
                   CASE shape
                       WHEN 'chat' THEN {v['completion_tokens']}
                       ELSE {v['output_tokens']}
                   END AS out_tok,
                   CASE shape
                       WHEN 'responses' THEN CAST(len(list_filter(json_extract_string(f_output, '$[*].type'),
                                                                  lambda t: t = 'function_call')) AS INTEGER)
                       WHEN 'anthropic' THEN CAST(len(list_filter(json_extract_string(f_content, '$[*].type'),
                                                                  lambda t: t = 'tool_use')) AS INTEGER)
                       WHEN 'chat' THEN CASE WHEN starts_with({fr('chat_tool_calls')}, '[')
                                             THEN CAST(json_array_length(f_chat_tool_calls) AS INTEGER) END
                   END AS tools_called
            FROM y
        )
        SELECT
            line_no,
            '{NAME}' AS source_format,
            CASE
                WHEN {fr('ts')} IS NULL AND {fr('timestamp')} IS NULL THEN 'missing required field: ts'
                WHEN {fr('request_id')} IS NULL AND {fr('rid')} IS NULL THEN 'missing required field: request_id'
                {F.type_arms(KINDS, LABELS)}
                WHEN NOT ({fr('status')} IS NULL OR {status_num} IS NOT NULL OR {status_word} IN ('success', 'error'))
                    THEN 'wrong type: status must be an HTTP status code or success/error'
                WHEN ts_parsed IS NULL THEN 'unparseable timestamp: ts'
                WHEN {fr('model')} IS NULL AND {fr('req_model')} IS NULL AND {fr('env_model')} IS NULL
                    THEN 'missing required field: model'
                WHEN shape IS NULL
                    THEN 'unrecognised response object (expected Chat Completions, Responses or Anthropic Messages)'
                WHEN att IS NULL AND {fr('attempts')} IS NOT NULL THEN 'wrong type: attempts must be a list of attempt objects'
                WHEN len(att) = 0 THEN 'wrong type: attempts must list at least one attempt'
                WHEN NOT list_bool_and([a.provider IS NOT NULL FOR a IN att])
                    THEN 'wrong type: every attempt needs a provider string'
                WHEN shape <> 'error' AND in_tok IS NULL AND out_tok IS NULL THEN 'missing usage: response.usage'
            END AS reason,
            false AS merged,
            coalesce({v['request_id']}, json_extract_string(f_rid, '$')) AS request_id,
            ts_parsed AS ts,
            {blank_null(v['app'])} AS app,
            {blank_null(v['user'])} AS user_raw,
            CAST(NULL AS VARCHAR) AS user_hash,
            coalesce({v['model']}, {v['req_model']}, {v['env_model']}) AS model,
            -- asked for (the request body's model) next to what served (the response's)
            coalesce({v['req_model']}, {v['env_model']}) AS model_requested,
            CASE shape WHEN 'anthropic' THEN {v['cache_creation']} END AS cache_write_tokens,
            coalesce({blank_null(v['service_tier'])}, {blank_null(v['usage_service_tier'])}) AS service_tier,
            {blank_null(v['session_id'])} AS session_id,
            {blank_null(v['team'])} AS team,
            {string_list_sql(fr('tags'))} AS tags,
            {blank_null(v['agent'])} AS agent,
            {provider_sql(v['provider'])} AS provider,
            CASE WHEN shape = 'error' OR {status_num} >= 400 OR {status_word} = 'error'
                      OR (shape = 'responses' AND {v['r_status']} = 'failed') THEN 'error'
                 ELSE 'success' END AS status,
            {status_num} AS http_status,
            CASE WHEN shape = 'error' THEN coalesce(json_extract_string(f_error, '$.type'),
                                                    json_extract_string(f_error, '$.code'), 'error')
                 WHEN shape = 'responses' AND {v['r_status']} = 'failed'
                      THEN coalesce(json_extract_string(f_error, '$.code'), 'failed') END AS error_type,
            CASE shape
                WHEN 'error' THEN 'error'
                WHEN 'chat' THEN CASE WHEN tools_called > 0 AND coalesce({finish_sql(v['chat_finish'])}, 'stop') = 'stop'
                                      THEN 'tool_calls' ELSE {finish_sql(v['chat_finish'])} END
                WHEN 'anthropic' THEN {finish_sql(v['stop_reason'])}
                WHEN 'responses' THEN CASE {v['r_status']}
                    WHEN 'completed' THEN CASE WHEN tools_called > 0 THEN 'tool_calls' ELSE 'stop' END
                    WHEN 'incomplete' THEN {finish_sql(f"coalesce({v['incomplete_reason']}, 'incomplete')")}
                    WHEN 'failed' THEN 'error'
                    ELSE {v['r_status']} END
            END AS finish_reason,
            CASE shape
                WHEN 'chat' THEN {v['chat_finish']}
                WHEN 'anthropic' THEN {v['stop_reason']}
                WHEN 'responses' THEN coalesce({v['incomplete_reason']}, {v['r_status']})
            END AS native_finish_reason,
            CASE WHEN has_request THEN coalesce(json_array_length(f_req_tools) > 0, false) END AS tools_offered,
            tools_called AS tool_call_count,
            in_tok AS input_tokens,
            CASE shape WHEN 'chat' THEN {v['chat_cached']} WHEN 'responses' THEN {v['resp_cached']}
                       WHEN 'anthropic' THEN {v['cache_read']} END AS cached_tokens,
            out_tok AS output_tokens,
            CASE shape WHEN 'chat' THEN {v['chat_reasoning']} WHEN 'responses' THEN {v['resp_reasoning']}
                       WHEN 'anthropic' THEN {v['thinking']} END AS reasoning_tokens,
            {v['cost_usd']} AS cost_usd,
            {v['latency_ms']} AS latency_ms,
            {v['ttft_ms']} AS ttft_ms,
            CASE WHEN has_request THEN coalesce({v['req_stream']}, false) END AS streamed,
            [{{
                'provider': {provider_sql('a.provider')},
                'http_status': TRY_CAST(CAST(a.http_status AS VARCHAR) AS INTEGER),
                'latency_ms': TRY_CAST(CAST(a.latency_ms AS VARCHAR) AS DOUBLE),
                'ts': TRY_CAST(a.ts AS TIMESTAMPTZ)
            }} FOR a IN att] AS attempt_list
        FROM z
    """
