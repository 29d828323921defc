"""Input formats: each turns raw lines into *staged* canonical rows, vectorised in DuckDB.

Every format module exposes ``NAME`` and ``staged_sql(source: str) -> str``: a SELECT over a
relation ``source`` with columns ``(line_no BIGINT, line VARCHAR)`` that yields the columns of
:data:`STAGED_COLUMNS` for each of its lines: one row per line, except a line holding several
requests (an OTLP/JSON batch), which gives one row per request, numbered by ``record_no``; a
rejected or merged line is always one row. ``reason`` is non-NULL
when the format itself rejects the line (bad JSON, wrong types, unparseable timestamp, ...);
``merged`` is true for lines folded into another line's request (e.g. retries that share a
trace); the common checks in ``ingest.py`` then apply to every format alike.

Detection (:func:`detect_sql`) labels each line with the name of its format, or with a
rejection reason when no format applies.
"""

from __future__ import annotations

from types import ModuleType

from gatewaylens.formats import canonical, envelope, litellm, openrouter, otel
from gatewaylens.formats._common import provider_sql
from gatewaylens.schema import staged_columns

__all__ = ["FORMATS", "STAGED_COLUMNS", "UNRECOGNISED", "detect_sql", "get", "names", "provider_sql"]

# Columns (name, DuckDB type) of the staged rows, derived from the row contract
# (schema.staged_columns()). ingest inserts a format's staged_sql BY NAME, so a column a format
# does not produce is NULL (record_no: 0, for formats whose lines never hold several requests).
STAGED_COLUMNS: list[tuple[str, str]] = staged_columns()

# Detection order matters: a line takes the first format whose DETECT matches, so the more
# specific shapes come before canonical (whose DETECT only asks for request_id/ts/model).
FORMATS: dict[str, ModuleType] = {
    openrouter.NAME: openrouter,
    litellm.NAME: litellm,
    envelope.NAME: envelope,
    otel.NAME: otel,
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


def detect_sql(source: str, forced: str | None = None) -> str:
    """SELECT line_no, fmt over ``source`` (line_no, line): fmt is a format name, or a rejection
    reason prefixed with '!' (empty line, invalid JSON, not an object, duplicate key: <name> — a
    top-level key given twice, since parsers disagree on which value wins —, unrecognised format).
    With ``forced`` (a format name), every JSON object is taken as that format.

    Each format's DETECT is a boolean SQL expression that may use ``keys`` (the line's top-level
    keys, parsed once here) and ``line``; prefer ``keys``: every extra parse of ``line`` costs.
    """
    if forced is not None:
        shape_cases = f"ELSE '{get(forced).NAME}'"
    else:
        shape_cases = "\n".join(f"WHEN {mod.DETECT} THEN '{name}'" for name, mod in FORMATS.items())
        shape_cases += f"\nELSE '!{UNRECOGNISED}'"
    return f"""
        WITH k AS (SELECT line_no, line, try(json_keys(line)) AS keys FROM {source})
        SELECT line_no,
            CASE
                WHEN keys IS NULL THEN CASE
                    WHEN trim(line, ' ' || chr(9) || chr(10) || chr(13)) = '' THEN '!empty line'
                    WHEN json_valid(line) THEN '!not a JSON object'
                    ELSE '!invalid JSON' END
                WHEN len(keys) = 0 AND json_type(line) <> 'OBJECT' THEN '!not a JSON object'
                WHEN len(keys) <> len(list_distinct(keys)) THEN '!duplicate key: ' || left(regexp_replace(
                    list_filter(keys, lambda k, i: list_position(keys, k) < i)[1], '[^A-Za-z0-9_.:@/-]', '?', 'g'), 64)
                {shape_cases}
            END AS fmt
        FROM k
    """
