"""Input formats: each turns raw lines into *staged* canonical rows, vectorised in DuckDB.

Every format module exposes ``NAME`` and ``staged_sql(source: str) -> str``: a SELECT over a
relation ``source`` with columns ``(line_no BIGINT, line VARCHAR)`` that yields the columns of
:data:`STAGED_COLUMNS` for each of its lines (one row per input line). ``reason`` is non-NULL
when the format itself rejects the line (bad JSON, wrong types, unparseable timestamp, ...);
``merged`` is true for lines folded into another line's request (e.g. retries that share a
trace); the common checks in ``ingest.py`` then apply to every format alike.

Detection (:func:`detect_sql`) labels each line with the name of its format, or with a
rejection reason when no format applies.
"""

from __future__ import annotations

from types import ModuleType

from gatewaylens.formats import canonical

# Columns (name, DuckDB type) every format's staged_sql must produce, in this order.
STAGED_COLUMNS: list[tuple[str, str]] = [
    ("line_no", "BIGINT"),
    ("source_format", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("merged", "BOOLEAN"),
    ("request_id", "VARCHAR"),
    ("ts", "TIMESTAMPTZ"),
    ("app", "VARCHAR"),
    ("user_raw", "VARCHAR"),
    ("user_hash", "VARCHAR"),
    ("model", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("status", "VARCHAR"),
    ("http_status", "INTEGER"),
    ("error_type", "VARCHAR"),
    ("finish_reason", "VARCHAR"),
    ("native_finish_reason", "VARCHAR"),
    ("tools_offered", "BOOLEAN"),
    ("tool_call_count", "INTEGER"),
    ("input_tokens", "BIGINT"),
    ("cached_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
    ("reasoning_tokens", "BIGINT"),
    ("cost_usd", "DOUBLE"),
    ("latency_ms", "DOUBLE"),
    ("ttft_ms", "DOUBLE"),
    ("streamed", "BOOLEAN"),
    ("attempt_list", "STRUCT(provider VARCHAR, http_status INTEGER, latency_ms DOUBLE, ts TIMESTAMPTZ)[]"),
]

FORMATS: dict[str, ModuleType] = {
    canonical.NAME: canonical,
}

UNRECOGNISED = "unrecognised format"


def names() -> list[str]:
    return list(FORMATS)


def get(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None


def detect_sql(source: str) -> str:
    """SELECT line_no, fmt over ``source``: fmt is a format name, or a rejection reason
    prefixed with '!' (invalid JSON, not an object, unrecognised format)."""
    shape_cases = "\n".join(f"WHEN {mod.DETECT} THEN '{name}'" for name, mod in FORMATS.items())
    return f"""
        SELECT line_no,
            CASE
                WHEN trim(line, ' ' || chr(9) || chr(10) || chr(13)) = '' THEN '!empty line'
                WHEN NOT json_valid(line) THEN '!invalid JSON'
                WHEN json_type(line) <> 'OBJECT' THEN '!not a JSON object'
                {shape_cases}
                ELSE '!{UNRECOGNISED}'
            END AS fmt
        FROM {source}
    """
