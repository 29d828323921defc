"""OpenRouter generation records: the ``data`` object of ``GET /api/v1/generation``.

One line = one generation (one request). The ``{"data": {...}}`` wrapper the endpoint returns is
accepted too. ``provider_responses[]`` lists every provider OpenRouter tried, in order (failovers
included): each entry becomes a row of ``provider_attempts`` and ``attempts`` is their number.

Mapping (source -> column): ``id`` -> request_id, ``created_at`` -> ts, ``model`` -> model
(alias table), ``provider_name`` -> provider (provider alias table), ``app_id`` -> app (as text),
``external_user`` -> user_hash (hashed), ``streamed`` -> streamed, ``finish_reason`` ->
finish_reason (normalised; ``native_finish_reason`` kept), ``latency`` (ms) -> latency_ms,
``native_tokens_prompt`` (else ``tokens_prompt``) -> input_tokens, ``native_tokens_completion``
(else ``tokens_completion``) -> output_tokens, ``native_tokens_reasoning`` -> reasoning_tokens
(NULL when absent), ``native_tokens_cached`` -> cached_tokens, ``total_cost`` -> cost_usd, the
last provider response's ``status`` -> http_status (>= 400 means the request failed).
Not carried by the source (NULL): error_type, tools_offered, ttft_ms, attempt start times (the
request's ts is used), exact tool_call_count (1 when finish_reason is tool_calls).
"""

from __future__ import annotations

from gatewaylens.formats._common import TypedFields, any_key_sql, blank_null, epoch_or_iso_sql, finish_sql, provider_sql

NAME = "openrouter"

# Keys that only an OpenRouter generation record carries (or the {"data": ...} wrapper).
_KEYS = ["provider_responses", "native_tokens_prompt", "tokens_prompt", "generation_time", "is_byok"]
DETECT = (
    any_key_sql("keys", _KEYS) + " OR (keys = ['data'] AND "
    # rare wrapped lines: one list_has_any, so the wrapper's keys are parsed once
    f"list_has_any(json_keys(line, '$.data'), {_KEYS!r}))"
)

KINDS: dict[str, str] = {
    "id": "str",
    "created_at": "str",
    "model": "str",
    "provider_name": "str",
    "external_user": "str",
    "streamed": "bool",
    "cancelled": "bool",
    "finish_reason": "str",
    "native_finish_reason": "str",
    "latency": "num",
    "generation_time": "num",
    "tokens_prompt": "int",
    "tokens_completion": "int",
    "native_tokens_prompt": "int",
    "native_tokens_completion": "int",
    "native_tokens_reasoning": "int",
    "native_tokens_cached": "int",
    "total_cost": "num",
    "provider_responses": "list",
    "router": "str",
    "service_tier": "str",
}
F = TypedFields({**{k: k for k in KINDS}, "app_id": "app_id"}, KINDS, wrapper="data")
_RESPONSES = '[{"provider_name": "VARCHAR", "status": "JSON", "latency": "JSON", "model_permaslug": "VARCHAR"}]'


def _attempt(r: str) -> str:
    return f"""{{
        'provider': {provider_sql(f'{r}.provider_name')},
        'http_status': TRY_CAST(CAST({r}.status AS VARCHAR) AS INTEGER),
        'latency_ms': TRY_CAST(CAST({r}.latency AS VARCHAR) AS DOUBLE),
        'ts': CAST(NULL AS TIMESTAMPTZ)}}"""


def staged_sql(source: str) -> str:
    v = {n: F.value(n, k) for n, k in KINDS.items()}
    fr = F.frag
    return f"""
        WITH y AS (
            SELECT *,
                   {epoch_or_iso_sql(fr('created_at'))} AS ts_parsed,
                   CASE WHEN starts_with({fr('provider_responses')}, '[')
                        THEN try(json_transform(f_provider_responses, '{_RESPONSES}')) END AS pr,
                   coalesce({v['native_tokens_prompt']}, {v['tokens_prompt']}) AS in_tok,
                   coalesce({v['native_tokens_completion']}, {v['tokens_completion']}) AS out_tok
            FROM {F.cut(source)}
        ), z AS (
            SELECT *,
                   -- one or two attempts (almost every record) without a per-element lambda
                   CASE len(pr)
                       WHEN 1 THEN [{_attempt('pr[1]')}]
                       WHEN 2 THEN [{_attempt('pr[1]')}, {_attempt('pr[2]')}]
                       ELSE [{_attempt('r')} FOR r IN pr]
                   END AS att
            FROM y
        )
        SELECT
            line_no,
            '{NAME}' AS source_format,
            CASE
                WHEN {fr('id')} IS NULL THEN 'missing required field: id'
                WHEN {fr('created_at')} IS NULL THEN 'missing required field: created_at'
                WHEN {fr('model')} IS NULL THEN 'missing required field: model'
                {F.type_arms(KINDS)}
                WHEN NOT ({fr('app_id')} IS NULL OR starts_with({fr('app_id')}, '"')
                          OR TRY_CAST({fr('app_id')} AS BIGINT) IS NOT NULL)
                    THEN 'wrong type: app_id must be an integer or a string'
                WHEN ts_parsed IS NULL THEN 'unparseable timestamp: created_at'
                WHEN pr IS NULL AND {fr('provider_responses')} IS NOT NULL
                    THEN 'wrong type: provider_responses must be a list of objects'
                WHEN NOT list_bool_and([CAST(r.status AS VARCHAR) IS NULL
                        OR TRY_CAST(CAST(r.status AS VARCHAR) AS INTEGER) IS NOT NULL FOR r IN pr])
                    THEN 'wrong type: provider_responses[].status must be an HTTP status code'
                WHEN NOT list_bool_and([CAST(r.latency AS VARCHAR) IS NULL OR CAST(r.latency AS VARCHAR) = 'null'
                        OR TRY_CAST(CAST(r.latency AS VARCHAR) AS DOUBLE) IS NOT NULL FOR r IN pr])
                    THEN 'wrong type: provider_responses[].latency must be a number'
                WHEN in_tok IS NULL AND out_tok IS NULL AND NOT coalesce({v['cancelled']}, false)
                     AND coalesce(att[-1].http_status, 200) < 400
                    THEN 'missing usage: tokens_prompt/tokens_completion'
            END AS reason,
            false AS merged,
            {v['id']} AS request_id,
            ts_parsed AS ts,
            json_extract_string(f_app_id, '$') AS app,
            {blank_null(v['external_user'])} AS user_raw,
            CAST(NULL AS VARCHAR) AS user_hash,
            {v['model']} AS model,
            coalesce({provider_sql(v['provider_name'])}, att[-1].provider) AS provider,
            CAST(NULL AS VARCHAR) AS status,
            att[-1].http_status AS http_status,
            CAST(NULL AS VARCHAR) AS error_type,
            CASE WHEN att[-1].http_status >= 400 THEN 'error'
                 ELSE {finish_sql(f"coalesce({v['finish_reason']}, {v['native_finish_reason']})")} END AS finish_reason,
            coalesce({v['native_finish_reason']}, {v['finish_reason']}) AS native_finish_reason,
            CAST(NULL AS BOOLEAN) AS tools_offered,
            CAST(NULL AS INTEGER) AS tool_call_count,
            in_tok AS input_tokens,
            {v['native_tokens_cached']} AS cached_tokens,
            out_tok AS output_tokens,
            {v['native_tokens_reasoning']} AS reasoning_tokens,
            {v['total_cost']} AS cost_usd,
            {v['latency']} AS latency_ms,
            CAST(NULL AS DOUBLE) AS ttft_ms,
            {v['streamed']} AS streamed,
            CASE WHEN len(att) > 0 THEN att END AS attempt_list,
            -- asked for: the router (openrouter/auto), else the first attempt's model when a model
            -- fallback served another one; NULL when the record shows no difference
            coalesce({blank_null(v['router'])},
                     CASE WHEN pr[1].model_permaslug IS DISTINCT FROM pr[-1].model_permaslug
                          THEN pr[1].model_permaslug END) AS model_requested,
            {v['cancelled']} AS cancelled,
            {blank_null(v['service_tier'])} AS service_tier
        FROM z
    """
