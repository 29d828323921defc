"""The canonical JSONL format (see ``schema.CanonicalLine`` and the published JSON Schema).

Vectorised: one ``json_extract_string`` and one ``json_type`` call per line extract every field
in a single parse each; types are checked against the JSON type of each value, so a string
where a number belongs is rejected rather than coerced.
"""

from __future__ import annotations

NAME = "canonical"

# A line is canonical when it is an object carrying any of the canonical key fields.
DETECT = "list_has_any(json_keys(line), ['request_id', 'ts', 'model'])"

# (field, kind). Kinds: str, int, num, bool, ts, list. Order = index in the extracted lists.
FIELDS: list[tuple[str, str]] = [
    ("request_id", "str"),
    ("ts", "ts"),
    ("model", "str"),
    ("app", "str"),
    ("user", "str"),
    ("user_hash", "str"),
    ("provider", "str"),
    ("status", "str"),
    ("http_status", "int"),
    ("error_type", "str"),
    ("finish_reason", "str"),
    ("native_finish_reason", "str"),
    ("tools_offered", "bool"),
    ("tool_call_count", "int"),
    ("input_tokens", "int"),
    ("cached_tokens", "int"),
    ("output_tokens", "int"),
    ("reasoning_tokens", "int"),
    ("cost_usd", "num"),
    ("latency_ms", "num"),
    ("ttft_ms", "num"),
    ("streamed", "bool"),
    ("attempts", "list"),
]
REQUIRED = ("request_id", "ts", "model")

_JSON_TYPES = {
    "str": ("VARCHAR",),
    "ts": ("VARCHAR",),
    "int": ("UBIGINT", "BIGINT"),
    "num": ("UBIGINT", "BIGINT", "DOUBLE"),
    "bool": ("BOOLEAN",),
    "list": ("ARRAY",),
}
_KIND_WORDS = {
    "str": "a string",
    "ts": "an ISO 8601 string",
    "int": "an integer",
    "num": "a number",
    "bool": "true or false",
    "list": "a list of attempts",
}
_CAST = {"str": "VARCHAR", "int": "BIGINT", "num": "DOUBLE", "bool": "BOOLEAN"}

_ATTEMPT_STRUCT = '[{"provider":"VARCHAR","http_status":"INTEGER","latency_ms":"DOUBLE","ts":"VARCHAR"}]'


def _idx(name: str) -> int:
    return [f for f, _ in FIELDS].index(name) + 1  # DuckDB lists are 1-based


def _v(name: str) -> str:
    return f"v[{_idx(name)}]"


def _t(name: str) -> str:
    return f"t[{_idx(name)}]"


def _type_checks() -> str:
    """CASE arms: a present, non-null value of the wrong JSON type rejects the line."""
    arms = []
    for name, kind in FIELDS:
        allowed = ", ".join(f"'{t}'" for t in _JSON_TYPES[kind])
        arms.append(
            f"WHEN {_t(name)} IS NOT NULL AND {_t(name)} <> 'NULL' AND {_t(name)} NOT IN ({allowed}) "
            f"THEN 'wrong type: {name} must be {_KIND_WORDS[kind]}'"
        )
    return "\n".join(arms)


def staged_sql(source: str) -> str:
    paths = ", ".join(f"'$.{name}'" for name, _ in FIELDS)
    missing = "\n".join(
        f"WHEN {_t(name)} IS NULL OR {_t(name)} = 'NULL' THEN 'missing required field: {name}'" for name in REQUIRED
    )
    cols = {name: f"TRY_CAST({_v(name)} AS {_CAST[kind]})" for name, kind in FIELDS if kind in _CAST}
    return f"""
        WITH x AS (
            SELECT line_no, line,
                   json_type(line, [{paths}]) AS t,
                   json_extract_string(line, [{paths}]) AS v
            FROM {source}
        ), y AS (
            SELECT *,
                   TRY_CAST({_v('ts')} AS TIMESTAMPTZ) AS ts_parsed,
                   CASE WHEN {_t('attempts')} = 'ARRAY'
                        THEN json_transform(json_extract(line, '$.attempts'), '{_ATTEMPT_STRUCT}') END AS att
            FROM x
        )
        SELECT
            line_no,
            '{NAME}' AS source_format,
            CASE
                {missing}
                {_type_checks()}
                WHEN ts_parsed IS NULL
                    THEN 'unparseable timestamp: ts'
                WHEN att IS NOT NULL AND len(att) = 0 THEN 'wrong type: attempts must list at least one attempt'
                WHEN att IS NOT NULL AND NOT list_bool_and(list_transform(att, lambda a: a.provider IS NOT NULL))
                    THEN 'wrong type: every attempt needs a provider string'
                WHEN att IS NOT NULL AND NOT list_bool_and(list_transform(att,
                        lambda a: a.ts IS NULL OR TRY_CAST(a.ts AS TIMESTAMPTZ) IS NOT NULL))
                    THEN 'unparseable timestamp: attempts[].ts'
                WHEN {_v('status')} IS NOT NULL AND {_v('status')} NOT IN ('success', 'error')
                    THEN 'invalid value: status must be success or error'
            END AS reason,
            false AS merged,
            {_v('request_id')} AS request_id,
            ts_parsed AS ts,
            {_v('app')} AS app,
            {_v('user')} AS user_raw,
            {_v('user_hash')} AS user_hash,
            {_v('model')} AS model,
            {_v('provider')} AS provider,
            {_v('status')} AS status,
            TRY_CAST({_v('http_status')} AS INTEGER) AS http_status,
            {_v('error_type')} AS error_type,
            {_v('finish_reason')} AS finish_reason,
            {_v('native_finish_reason')} AS native_finish_reason,
            {cols['tools_offered']} AS tools_offered,
            TRY_CAST({_v('tool_call_count')} AS INTEGER) AS tool_call_count,
            {cols['input_tokens']} AS input_tokens,
            {cols['cached_tokens']} AS cached_tokens,
            {cols['output_tokens']} AS output_tokens,
            {cols['reasoning_tokens']} AS reasoning_tokens,
            {cols['cost_usd']} AS cost_usd,
            {cols['latency_ms']} AS latency_ms,
            {cols['ttft_ms']} AS ttft_ms,
            {cols['streamed']} AS streamed,
            list_transform(att, lambda a: {{
                'provider': a.provider,
                'http_status': a.http_status,
                'latency_ms': a.latency_ms,
                'ts': TRY_CAST(a.ts AS TIMESTAMPTZ)
            }}) AS attempt_list
        FROM y
    """
