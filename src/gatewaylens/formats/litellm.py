"""LiteLLM ``StandardLoggingPayload`` records (what LiteLLM's logging callbacks, S3/GCS loggers emit).

One record per LLM *call*. Records that share a ``trace_id`` (LiteLLM retries and fallbacks of
one incoming request) are the attempts of ONE logical request: the latest call (by
``startTime``, then line order) becomes the row of ``requests``; the earlier calls are counted
as ``merged`` and appear only as rows of ``provider_attempts``. ``request_id`` is the
``trace_id`` (the call ``id`` when a record has no trace id).

Mapping: ``startTime`` -> ts (epoch seconds as a float, or an ISO 8601 string — both occur;
naive ISO strings are UTC), latency = last ``endTime`` - first ``startTime``, ttft =
``completionStartTime`` - first ``startTime`` when ``stream`` is true; ``model`` (a leading
``<custom_llm_provider>/`` is dropped; then the alias table) -> model; ``custom_llm_provider``
-> provider (alias table); ``status`` 'failure' -> status error, ``error_information.error_code``
-> http_status (200 assumed for 'success'), ``error_information.error_class`` -> error_type;
``response.choices[0].finish_reason`` -> finish_reason; number of
``response.choices[0].message.tool_calls`` -> tool_call_count; ``prompt_tokens`` /
``completion_tokens`` -> input/output tokens; ``response.usage.completion_tokens_details.
reasoning_tokens`` -> reasoning_tokens (NULL when absent);
``response.usage.prompt_tokens_details.cached_tokens`` -> cached_tokens; sum of
``response_cost`` over the trace -> cost_usd; ``stream`` -> streamed; ``end_user`` (else
``metadata.user_api_key_user_id``) -> user (hashed); ``metadata.user_api_key_alias`` (else
``user_api_key_team_alias``) -> app; ``model_parameters.tools`` -> tools_offered (NULL when
the record has no ``model_parameters``). Non-generation calls (embeddings, images, audio,
moderation, rerank, files/batches) are quarantined as 'unsupported call_type'.
"""

from __future__ import annotations

from gatewaylens.formats._common import (
    TypedFields, any_key_sql, blank_null, epoch_or_iso_sql, finish_sql, provider_sql, string_list_sql,
)

NAME = "litellm"

DETECT = any_key_sql("keys", ["call_type", "startTime", "custom_llm_provider", "model_group", "standard_logging_object"])

KINDS: dict[str, str] = {
    "id": "str",
    "trace_id": "str",
    "call_type": "str",
    "status": "str",
    "model": "str",
    "custom_llm_provider": "str",
    "response_cost": "num",
    "prompt_tokens": "int",
    "completion_tokens": "int",
    "stream": "bool",
    "end_user": "str",
    "key_alias": "str",
    "team_alias": "str",
    "key_user_id": "str",
    "error_class": "str",
    "model_parameters": "obj",
    "finish_reason": "str",
    "tool_calls": "list",
    "reasoning_tokens": "int",
    "cached_tokens": "int",
    "usage_prompt_tokens": "int",
    "usage_completion_tokens": "int",
    "response_model": "str",
    "model_group": "str",
    "request_tags": "list",
    "meta_tags": "list",
    "session_id": "str",
    "meta_session_id": "str",
    "req_meta_session_id": "str",
    "meta_team_alias": "str",
    "service_tier": "str",
    "cache_creation": "int",
    "details_cache_creation": "int",
}
F = TypedFields(
    {
        "id": "id",
        "trace_id": "trace_id",
        "call_type": "call_type",
        "status": "status",
        "model": "model",
        "custom_llm_provider": "custom_llm_provider",
        "response_cost": "response_cost",
        "prompt_tokens": "prompt_tokens",
        "completion_tokens": "completion_tokens",
        "start": "startTime",
        "end": "endTime",
        "completion_start": "completionStartTime",
        "stream": "stream",
        "end_user": "end_user",
        "key_alias": "metadata.user_api_key_alias",
        "team_alias": "metadata.user_api_key_team_alias",
        "key_user_id": "metadata.user_api_key_user_id",
        "error_code": "error_information.error_code",
        "error_class": "error_information.error_class",
        "model_parameters": "model_parameters",
        "finish_reason": "response.choices[0].finish_reason",
        "tool_calls": "response.choices[0].message.tool_calls",
        "reasoning_tokens": "response.usage.completion_tokens_details.reasoning_tokens",
        "cached_tokens": "response.usage.prompt_tokens_details.cached_tokens",
        "usage_prompt_tokens": "response.usage.prompt_tokens",
        "usage_completion_tokens": "response.usage.completion_tokens",
        "response_model": "response.model",
        "model_group": "model_group",
        "request_tags": "request_tags",
        "meta_tags": "metadata.tags",
        "session_id": "session_id",
        "meta_session_id": "metadata.session_id",
        "req_meta_session_id": "metadata.requester_metadata.session_id",
        "meta_team_alias": "metadata.team_alias",
        "service_tier": "response.service_tier",
        "cache_creation": "response.usage.cache_creation_input_tokens",
        "details_cache_creation": "response.usage.prompt_tokens_details.cache_creation_tokens",
    },
    kinds=KINDS,
    wrapper="standard_logging_object",
)
# Reasons name a nested field by its path in the record.
LABELS = {n: p for n, p in F.paths.items() if n in KINDS and n != p}
# call_type values that are not text generation (LiteLLM's CallTypes), sync and async forms.
_NOT_GENERATION = (
    "^a?(embedding|image_generation|image_edit|image_variation|moderation|transcription|speech|rerank|ocr|search"
    "|create_batch|retrieve_batch|list_batches|cancel_batch|create_file|file_|create_fine_tuning|video|"
    "vector_store|realtime|_arealtime|create_assistants|get_assistants|delete_assistant)"
)


def staged_sql(source: str) -> str:
    v = {n: F.value(n, k) for n, k in KINDS.items()}
    fr = F.frag
    status = v["status"]
    err_code = f"TRY_CAST(json_extract_string(f_error_code, '$') AS INTEGER)"
    # only what the record reports: a success carries no HTTP status (none is invented)
    http = f"CASE WHEN {status} = 'failure' AND {err_code} BETWEEN 100 AND 599 THEN {err_code} END"
    model = v["model"]
    cp = v["custom_llm_provider"]
    return f"""
        WITH y AS (
            SELECT *,
                   {epoch_or_iso_sql(fr('start'))} AS t_start,
                   {epoch_or_iso_sql(fr('end'))} AS t_end,
                   {epoch_or_iso_sql(fr('completion_start'))} AS t_first,
                   coalesce({v['prompt_tokens']}, {v['usage_prompt_tokens']}) AS in_tok,
                   coalesce({v['completion_tokens']}, {v['usage_completion_tokens']}) AS out_tok
            FROM {F.cut(source)}
        ), r AS MATERIALIZED (
            -- Only typed per-row results leave this CTE (it is read twice, so DuckDB materialises
            -- it): carrying the JSON fragments through would copy every one of them.
            SELECT line_no, t_start, t_end, t_first, in_tok, out_tok,
                   {v['response_cost']} AS cost_one,
                   coalesce({blank_null(v['key_alias'])}, {blank_null(v['team_alias'])}) AS app,
                   coalesce({blank_null(v['end_user'])}, {blank_null(v['key_user_id'])}) AS user_raw,
                   {blank_null(v['model_group'])} AS model_requested,
                   coalesce({blank_null(v['team_alias'])}, {blank_null(v['meta_team_alias'])}) AS team,
                   coalesce({string_list_sql(fr('request_tags'))}, {string_list_sql(fr('meta_tags'))}) AS tags,
                   coalesce({blank_null(v['session_id'])}, {blank_null(v['meta_session_id'])},
                            {blank_null(v['req_meta_session_id'])}) AS session_id,
                   {v['service_tier']} AS service_tier,
                   coalesce({v['cache_creation']}, {v['details_cache_creation']}) AS cache_write_tokens,
                   coalesce(CASE WHEN starts_with({model}, {cp} || '/') THEN substr({model}, length({cp}) + 2) ELSE {model} END,
                            {v['response_model']}) AS model,
                   CASE WHEN {status} = 'failure' THEN 'error' ELSE 'success' END AS status,
                   CASE WHEN {status} = 'failure' THEN coalesce({v['error_class']}, 'error') END AS error_type,
                   CASE WHEN {status} = 'failure' THEN 'error'
                        WHEN starts_with({fr('tool_calls')}, '[') AND json_array_length(f_tool_calls) > 0
                             AND coalesce({finish_sql(v['finish_reason'])}, 'stop') = 'stop' THEN 'tool_calls'
                        ELSE {finish_sql(v['finish_reason'])} END AS finish_reason,
                   {v['finish_reason']} AS native_finish_reason,
                   CASE WHEN {fr('model_parameters')} IS NOT NULL
                        THEN coalesce(json_array_length(f_model_parameters, '$.tools') > 0, false) END AS tools_offered,
                   CASE WHEN starts_with({fr('tool_calls')}, '[') THEN CAST(json_array_length(f_tool_calls) AS INTEGER) END AS tool_call_count,
                   {v['cached_tokens']} AS cached_tokens,
                   {v['reasoning_tokens']} AS reasoning_tokens,
                   {v['stream']} AS streamed,
                   CASE
                       WHEN {blank_null(v['id'])} IS NULL AND {blank_null(v['trace_id'])} IS NULL
                           THEN 'missing required field: id'
                       WHEN {fr('start')} IS NULL THEN 'missing required field: startTime'
                       WHEN {fr('model')} IS NULL AND {fr('response_model')} IS NULL THEN 'missing required field: model'
                       {F.type_arms(KINDS, LABELS)}
                       WHEN {status} NOT IN ('success', 'failure') THEN 'invalid value: status must be success or failure'
                       WHEN t_start IS NULL THEN 'unparseable timestamp: startTime'
                       WHEN t_end IS NULL AND {fr('end')} IS NOT NULL THEN 'unparseable timestamp: endTime'
                       WHEN t_first IS NULL AND {fr('completion_start')} IS NOT NULL
                           THEN 'unparseable timestamp: completionStartTime'
                       WHEN regexp_matches({v['call_type']}, '{_NOT_GENERATION}')
                           THEN 'unsupported call_type (not a text generation)'
                       WHEN coalesce({status}, 'success') = 'success' AND in_tok IS NULL AND out_tok IS NULL
                           THEN 'missing usage: prompt_tokens/completion_tokens'
                   END AS reason,
                   coalesce({blank_null(v['trace_id'])}, {blank_null(v['id'])}) AS rid,
                   {{'provider': {provider_sql(cp)},
                     'http_status': {http},
                     'latency_ms': (epoch_us(t_end) - epoch_us(t_start)) / 1000.0,
                     'ts': t_start}} AS att
            FROM y
        ), multi AS (
            -- traces with more than one call (retries, fallbacks): the only ones that need an
            -- aggregate; every other record is its own request
            SELECT rid FROM r WHERE reason IS NULL GROUP BY rid HAVING count(*) > 1
        ), g AS (
            SELECT rid,
                   arg_max(line_no, (t_start, line_no)) AS final_line,
                   -- asked for: the first call's model_group (a router fallback logs its later calls
                   -- under the fallback's group)
                   arg_min(model_requested, (t_start, line_no)) AS first_requested,
                   min(t_start) AS t0,
                   max(t_end) AS t1,
                   sum(cost_one) AS cost,
                   -- in (startTime, line) order; sorting the collected list is cheaper than an
                   -- ordered aggregate (line numbers are unique, so att itself never decides)
                   [x.att FOR x IN list_sort(list({{'t': t_start, 'l': line_no, 'att': att}}))] AS atts
            FROM r WHERE reason IS NULL AND rid IN (SELECT rid FROM multi) GROUP BY rid
        )
        SELECT
            r.line_no,
            '{NAME}' AS source_format,
            r.reason,
            coalesce(r.line_no <> g.final_line, false) AS merged,
            r.rid AS request_id,
            coalesce(g.t0, r.t_start) AS ts,
            r.app,
            r.user_raw,
            CAST(NULL AS VARCHAR) AS user_hash,
            r.model,
            r.att.provider AS provider,
            r.status,
            r.att.http_status AS http_status,
            r.error_type,
            r.finish_reason,
            r.native_finish_reason,
            r.tools_offered,
            r.tool_call_count,
            r.in_tok AS input_tokens,
            r.cached_tokens,
            r.out_tok AS output_tokens,
            r.reasoning_tokens,
            CASE WHEN g.rid IS NULL THEN r.cost_one ELSE g.cost END AS cost_usd,
            CASE WHEN g.rid IS NULL THEN (epoch_us(r.t_end) - epoch_us(r.t_start)) / 1000.0
                 ELSE (epoch_us(g.t1) - epoch_us(g.t0)) / 1000.0 END AS latency_ms,
            CASE WHEN r.streamed THEN (epoch_us(r.t_first) - epoch_us(coalesce(g.t0, r.t_start))) / 1000.0 END AS ttft_ms,
            r.streamed,
            coalesce(g.first_requested, r.model_requested) AS model_requested,
            r.team,
            r.tags,
            r.session_id,
            r.service_tier,
            r.cache_write_tokens,
            CASE WHEN r.reason IS NULL THEN coalesce(g.atts, [r.att]) END AS attempt_list
        FROM r LEFT JOIN g ON g.rid = r.rid AND r.reason IS NULL
    """
