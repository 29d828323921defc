"""The canonical JSONL format (see ``schema.CanonicalLine`` and the published JSON Schema).

Vectorised in two steps. First every top-level field is cut out of the line as a raw JSON
fragment — by one ``json_transform`` per line (:func:`staged_sql`), or by DuckDB's parallel
``read_json`` reader for a whole file (ingest's fast path). Then :func:`staged_from_fragments`
checks each fragment's JSON type with cheap string tests and casts it, so a string where a
number belongs is rejected rather than coerced (``"12"`` is not an integer; ``1.5`` is not an
integer; ``1.0`` is).
"""

from __future__ import annotations

from gatewaylens.formats._common import Fields, any_key_sql

NAME = "canonical"

# A line is canonical when it is an object carrying any of the canonical key fields.
# `keys` is the list of the line's top-level keys (computed once by formats.detect_sql).
DETECT = any_key_sql("keys", ["request_id", "ts", "model"])

# (field, kind). Kinds: str, ts, int (BIGINT), int32 (INTEGER), num, bool, list.
FIELDS: list[tuple[str, str]] = [
    ("request_id", "str"),
    ("ts", "ts"),
    ("model", "str"),
    ("app", "str"),
    ("user", "str"),
    ("user_hash", "str"),
    ("provider", "str"),
    ("status", "str"),
    ("http_status", "int32"),
    ("error_type", "str"),
    ("finish_reason", "str"),
    ("native_finish_reason", "str"),
    ("tools_offered", "bool"),
    ("tool_call_count", "int32"),
    ("input_tokens", "int"),
    ("cached_tokens", "int"),
    ("output_tokens", "int"),
    ("reasoning_tokens", "int"),
    ("cost_usd", "num"),
    ("latency_ms", "num"),
    ("ttft_ms", "num"),
    ("streamed", "bool"),
    ("attempts", "list"),
    # issue #11 dimensions
    ("model_requested", "str"),
    ("cache_write_tokens", "int"),
    ("cancelled", "bool"),
    ("session_id", "str"),
    ("team", "str"),
    ("tags", "strlist"),
    ("service_tier", "str"),
    ("agent", "str"),
]
REQUIRED = ("request_id", "ts", "model")

# Top-level keys that mark another format's records (OpenRouter, LiteLLM, OTel, envelopes).
# ingest's read_json fast path falls back to per-line detection when any is present.
FOREIGN_KEYS: tuple[str, ...] = (
    "data", "response", "resourceSpans", "attributes", "trace_id", "call_type", "provider_responses",
    "created_at", "startTime", "span_id", "spans",
)

_KIND_WORDS = {
    "str": "a string",
    "ts": "an ISO 8601 string",
    "int": "an integer",
    "int32": "an integer",
    "num": "a number",
    "bool": "true or false",
    "list": "a list of attempts",
    "strlist": "a list of strings",
}

_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_STRING_LIST_RE = rf"\[(?:{_JSON_STRING}(?:,{_JSON_STRING})*)?\]"
_ATTEMPT_STRUCT = '[{"provider":"VARCHAR","http_status":"JSON","latency_ms":"JSON","ts":"VARCHAR"}]'


def fragment_struct() -> str:
    """json_transform structure that cuts every canonical field out as a JSON fragment."""
    return "{" + ", ".join(f'"{name}": "JSON"' for name, _ in FIELDS) + "}"


def _f(name: str) -> str:
    """The fragment of a field as text (NULL when absent or JSON null)."""
    return Fields.frag(name)


def _ok(name: str, kind: str) -> str:
    """SQL: true when the field is absent/null or of the right JSON type."""
    if kind == "strlist":
        # a JSON list of strings, by a regular expression over its compact text (DuckDB writes the
        # fragment without whitespace): json_type of every element cost 0.3 s per 300k lines
        return f"({_f(name)} IS NULL OR regexp_full_match({_f(name)}, '{_STRING_LIST_RE}'))"
    return Fields.ok(name, "str" if kind == "ts" else kind)


def _fast_ok(name: str, kind: str) -> str:
    """SQL implying _ok and the domain arms of the field (see Fields.fast_ok)."""
    if kind == "strlist":
        return _ok(name, kind)
    return Fields.fast_ok(name, "str" if kind == "ts" else kind)


def _value(name: str, kind: str) -> str:
    if kind == "strlist":
        return f"CASE WHEN starts_with({_f(name)}, '[') THEN json_extract_string(f_{name}, '$[*]') END"
    return Fields.value(name, "str" if kind == "ts" else kind)


def staged_from_fragments(source: str, extra: str = "") -> str:
    """SELECT producing formats.STAGED_COLUMNS from ``source``: columns line_no and
    f_<field> (JSON fragment) for every field of FIELDS. ``extra`` appends more select items
    (expressions over the source's columns) after the staged columns."""
    missing = "\n".join(f"WHEN {_f(n)} IS NULL THEN 'missing required field: {n}'" for n in REQUIRED)
    wrong = "\n".join(
        [f"WHEN NOT {_ok(n, k)} THEN 'wrong type: {n} must be {_KIND_WORDS[k]}'" for n, k in FIELDS]
        + [Fields.domain_arms(n, k) for n, k in FIELDS if k in ("int", "int32", "num")]
    )
    # The type and domain arms run only for a row failing the cheap test (Fields.fast_ok), which
    # implies every one of them is false: nearly every row skips ~50 arms.
    fast_ok = " AND ".join(_fast_ok(n, k) for n, k in FIELDS)
    wrong = f"WHEN NOT coalesce({fast_ok}, false) AND (CASE {wrong} END) IS NOT NULL THEN CASE {wrong} END"
    v = {n: _value(n, k) for n, k in FIELDS if k != "list"}
    return f"""
        WITH y AS (
            SELECT *,
                   TRY_CAST({v['ts']} AS TIMESTAMPTZ) AS ts_parsed,
                   CASE WHEN starts_with({_f('attempts')}, '[')
                        THEN try(json_transform(f_attempts, '{_ATTEMPT_STRUCT}')) END AS att
            FROM {source}
        )
        SELECT
            line_no,
            CAST(0 AS INTEGER) AS record_no,
            '{NAME}' AS source_format,
            CASE
                {missing}
                {wrong}
                WHEN ts_parsed IS NULL THEN 'unparseable timestamp: ts'
                WHEN att IS NULL AND {_f('attempts')} IS NOT NULL
                    THEN 'wrong type: attempts must be a list of attempt objects'
                WHEN len(att) = 0 THEN 'wrong type: attempts must list at least one attempt'
                WHEN NOT list_bool_and([a.provider IS NOT NULL
                        AND (a.http_status IS NULL OR TRY_CAST(CAST(a.http_status AS VARCHAR) AS INTEGER) IS NOT NULL)
                        AND (a.latency_ms IS NULL OR TRY_CAST(CAST(a.latency_ms AS VARCHAR) AS DOUBLE) IS NOT NULL)
                        FOR a IN att])
                    THEN 'wrong type: every attempt needs a provider string and numeric http_status/latency_ms'
                WHEN NOT list_bool_and([a.ts IS NULL OR TRY_CAST(a.ts AS TIMESTAMPTZ) IS NOT NULL FOR a IN att])
                    THEN 'unparseable timestamp: attempts[].ts'
                WHEN {v['status']} NOT IN ('success', 'error')
                    THEN 'invalid value: status must be success or error'
            END AS reason,
            false AS merged,
            {v['request_id']} AS request_id,
            ts_parsed AS ts,
            {v['app']} AS app,
            {v['user']} AS user_raw,
            {v['user_hash']} AS user_hash,
            {v['model']} AS model,
            {v['provider']} AS provider,
            {v['status']} AS status,
            {v['http_status']} AS http_status,
            {v['error_type']} AS error_type,
            {v['finish_reason']} AS finish_reason,
            {v['native_finish_reason']} AS native_finish_reason,
            {v['tools_offered']} AS tools_offered,
            {v['tool_call_count']} AS tool_call_count,
            {v['input_tokens']} AS input_tokens,
            {v['cached_tokens']} AS cached_tokens,
            {v['output_tokens']} AS output_tokens,
            {v['reasoning_tokens']} AS reasoning_tokens,
            {v['cost_usd']} AS cost_usd,
            {v['latency_ms']} AS latency_ms,
            {v['ttft_ms']} AS ttft_ms,
            {v['streamed']} AS streamed,
            {v['model_requested']} AS model_requested,
            {v['cache_write_tokens']} AS cache_write_tokens,
            {v['cancelled']} AS cancelled,
            {v['session_id']} AS session_id,
            {v['team']} AS team,
            {v['tags']} AS tags,
            {v['service_tier']} AS service_tier,
            {v['agent']} AS agent,
            [{{
                'provider': a.provider,
                'http_status': TRY_CAST(CAST(a.http_status AS VARCHAR) AS INTEGER),
                'latency_ms': TRY_CAST(CAST(a.latency_ms AS VARCHAR) AS DOUBLE),
                'ts': TRY_CAST(a.ts AS TIMESTAMPTZ)
            }} FOR a IN att] AS attempt_list
            {"," + extra if extra else ""}
        FROM y
    """


def staged_sql(source: str) -> str:
    """Per-line path: ``source`` has columns line_no, line (one JSON object per line)."""
    cols = ", ".join(f"j.{name} AS f_{name}" for name, _ in FIELDS)
    return staged_from_fragments(
        f"(SELECT line_no, {cols} FROM (SELECT line_no, json_transform(line, '{fragment_struct()}') AS j FROM {source}))"
    )
