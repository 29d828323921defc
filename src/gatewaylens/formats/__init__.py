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
        arms = [(f"true", get(forced).NAME)]
    else:
        arms = [(mod.DETECT, name) for name, mod in FORMATS.items()] + [("true", f"!{UNRECOGNISED}")]
    per_line = "\n".join(f"WHEN {test} THEN '{name}'" for test, name in arms)
    # Per shape, ``line`` is NULL: a test that needs the line is then NULL (unknown) and the
    # shape's lines are decided one by one.
    per_shape = "\n".join(f"WHEN ({test}) IS NULL THEN NULL WHEN {test} THEN '{name}'" for test, name in arms)
    return f"""
        WITH k AS (SELECT line_no, line, keys, array_to_string(keys, chr(1)) AS shape
                   FROM (SELECT line_no, line, try(json_keys(line)) AS keys FROM {source})),
        shapes AS (
            -- detection once per distinct list of top-level keys (a batch holds a few dozen), not
            -- per line: list_distinct over ~30 keys costs more than parsing the line
            SELECT shape, len(keys) AS n, {_first_duplicate("keys")} AS duplicate, CASE {per_shape} END AS fmt
            FROM (SELECT shape, string_split(shape, chr(1)) AS keys, CAST(NULL AS VARCHAR) AS line
                  FROM (SELECT DISTINCT shape FROM k WHERE shape <> ''))
        )
        SELECT line_no,
            CASE
                WHEN keys IS NULL THEN CASE
                    WHEN trim(line, ' ' || chr(9) || chr(10) || chr(13)) = '' THEN '!empty line'
                    WHEN json_valid(line) THEN '!not a JSON object'
                    ELSE '!invalid JSON' END
                WHEN len(keys) = 0 AND json_type(line) <> 'OBJECT' THEN '!not a JSON object'
                WHEN duplicate IS NOT NULL THEN '!duplicate key: ' || duplicate
                WHEN shape_fmt IS NOT NULL THEN shape_fmt
                {per_line}
            END AS fmt
        FROM (SELECT k.line_no, k.line, k.keys,
                     -- (a key holding chr(1) splits its shape wrongly: such a line is tested alone)
                     CASE WHEN s.n = len(k.keys) THEN s.duplicate ELSE {_first_duplicate("k.keys")} END AS duplicate,
                     CASE WHEN s.n = len(k.keys) THEN s.fmt END AS shape_fmt
              FROM k LEFT JOIN shapes s USING (shape))
    """


def _first_duplicate(keys: str) -> str:
    """SQL: the first key of the list ``keys`` given twice (printable characters only, at most
    64), or NULL when every key is distinct."""
    return (f"CASE WHEN len({keys}) <> len(list_distinct({keys})) THEN left(regexp_replace(list_filter({keys}, "
            f"lambda k, i: list_position({keys}, k) < i)[1], '[^A-Za-z0-9_.:@/-]', '?', 'g'), 64) END")
