"""Stage 3, *check*: the rules every staged row must pass, whatever its format, as ONE SQL
expression evaluated once per row into the staged row's ``reason`` (NULL = good).

The value domains (documented in docs/ingest.md, reasons table):

* required fields: request_id, ts, model (``missing required field: <f>``);
* text identifiers: at most :data:`TEXT_CAPS` characters (``too long: <f>``) and no control
  characters (``control character: <f>``);
* ``ts`` (and every attempt's ts) between 1970-01-01 and the ingest time + 1 day
  (``timestamp out of range``);
* numbers finite (``non-finite value: <f>``: NaN, Infinity, overflow such as 1e400), counts not
  negative (``negative value: <f>``), http_status 100-599, reasoning <= output and cached <= input
  tokens;
* a successful request reports its token usage (``missing token usage``).

Integers that do not fit their column (``out of range: <f>``) and duplicate keys are caught where
the text is still at hand: the format readers (formats/_common.py) and detection.
"""

from __future__ import annotations

# Longest text kept per identifier column; a longer value is rejected, never cut.
TEXT_CAPS: dict[str, int] = {
    "request_id": 256,
    "model": 256,
    "provider": 128,
    "app": 256,
    "user_hash": 128,
    "error_type": 256,
    "native_finish_reason": 128,
    "model_requested": 256,
    "session_id": 256,
    "team": 256,
    "service_tier": 64,
    "agent": 256,
}
_NON_FINITE = ("cost_usd", "latency_ms", "ttft_ms", "cost_estimated_usd")
_NOT_NEGATIVE = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "cache_write_tokens",
                 "tool_call_count", "cost_usd", "cost_estimated_usd")
_CONTROL = r"'[\x00-\x1f\x7f]'"
TS_MIN = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
TS_MAX = "getvariable('gatewaylens_ts_max')"  # set per run: ingest time + 1 day


def status_sql(p: str = "") -> str:
    """The request's status: the staged one, else derived from http_status / finish_reason
    (shared with ingest's normalisation, so the check and the stored row agree)."""
    return (f"coalesce({p}status, CASE WHEN {p}http_status >= 400 OR {p}finish_reason = 'error' "
            "THEN 'error' ELSE 'success' END)")


def _control(columns: list[str]) -> str:
    """One regexp over the concatenated identifiers; the per-column arms run only when it hits.
    The regexp (~0.4 CPU s per 300k rows) runs only where a cheaper test says a control character
    may be present: JSON-quoting a text escapes every character below U+0020 (so its quoted form is
    longer than the text + 2 quotes), and U+007F, which JSON leaves as it is, is looked for alone.
    (Quotes, backslashes and escaped non-ASCII also lengthen it: those rows just take the regexp.)"""
    arms = " ".join(f"WHEN regexp_matches({c}, {_CONTROL}) THEN 'control character: {c}'" for c in columns)
    joined = "concat(" + ", ".join(columns) + ")"
    maybe = f"(strlen(to_json({joined})) <> strlen({joined}) + 2 OR contains({joined}, chr(127)))"
    return f"WHEN {maybe} AND regexp_matches({joined}, {_CONTROL}) THEN CASE {arms} END"


def reason_sql() -> str:
    """SQL over a staged row: the final reason (the format's own, else the first failed rule)."""
    caps = "\n".join(f"WHEN length({c}) > {n} THEN 'too long: {c}'" for c, n in TEXT_CAPS.items())
    finite = "\n".join(f"WHEN NOT isfinite({c}) THEN 'non-finite value: {c}'" for c in _NON_FINITE)
    negative = "\n".join(f"WHEN {c} < 0 THEN 'negative value: {c}'" for c in _NOT_NEGATIVE)
    return f"""CASE
        WHEN merged THEN NULL
        WHEN reason IS NOT NULL THEN reason
        WHEN request_id IS NULL OR request_id = '' THEN 'missing required field: request_id'
        WHEN ts IS NULL THEN 'missing required field: ts'
        WHEN model IS NULL OR model = '' THEN 'missing required field: model'
        {caps}
        {_control(list(TEXT_CAPS))}
        WHEN attempt_list IS NOT NULL AND NOT list_bool_and([coalesce(a.provider, '') <> '' FOR a IN attempt_list])
            THEN 'missing required field: provider of an attempt'
        WHEN ts < {TS_MIN} OR ts > {TS_MAX} THEN 'timestamp out of range'
        WHEN attempt_list IS NOT NULL AND NOT list_bool_and([a.ts IS NULL OR a.ts BETWEEN {TS_MIN} AND {TS_MAX}
                                                             FOR a IN attempt_list])
            THEN 'timestamp out of range'
        {finite}
        WHEN attempt_list IS NOT NULL AND NOT list_bool_and([a.latency_ms IS NULL OR isfinite(a.latency_ms)
                                                             FOR a IN attempt_list])
            THEN 'non-finite value: attempts[].latency_ms'
        {negative}
        WHEN latency_ms < 0 OR ttft_ms < 0 THEN 'negative value: latency'
        WHEN http_status IS NOT NULL AND (http_status < 100 OR http_status > 599)
            THEN 'invalid value: http_status must be 100-599'
        WHEN reasoning_tokens > coalesce(output_tokens, 0) THEN 'reasoning_tokens > output_tokens'
        WHEN cached_tokens > coalesce(input_tokens, 0) THEN 'cached_tokens > input_tokens'
        WHEN input_tokens IS NULL AND output_tokens IS NULL AND {status_sql()} = 'success'
            THEN 'missing token usage'
    END"""
