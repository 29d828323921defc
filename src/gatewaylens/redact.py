"""What ``quarantine`` keeps of a rejected line: its structure, never its secrets.

A rejected line may carry prompts, completions, tool arguments, error bodies, caller ids,
e-mails or API keys under any key (``"\\u0063ontent"`` is ``content``; a key can be named
anything). So quarantine does not try to recognise secrets; it keeps only what is known to be
harmless:

* a line that parses as JSON becomes a **structural redaction** (:func:`structure`): the same
  keys and nesting, every string value replaced by ``"<str:N>"`` (N = its length), except the
  values of an allow-list of identifying fields (:data:`ALLOWED_STRING_KEYS`: request_id, ts,
  model, provider, status, ...; capped, control characters escaped; timestamps and status codes
  only when they have that shape); numbers, booleans and
  nulls are kept; lists longer than :data:`MAX_ITEMS` and nesting deeper than
  :data:`MAX_DEPTH` are elided (``"<list:N>"``, ``"<object:N keys>"``);
* a line that does not parse (truncated, not JSON, not UTF-8) keeps at most
  :data:`PREFIX_CHARS` characters of a **masked prefix** (:func:`mask_text`): every string
  literal (closed or cut off) becomes ``"<str:N>"``, every bare word other than JSON's
  literals becomes ``<word:N>``; punctuation, whitespace and numbers stay.

Both run on a few rejected lines only (Python, line by line), and never raise for any input:
a line that still cannot be redacted is the caller's ``unexplainable line``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# String values kept as they are (capped): identifiers and categories that say which request
# was rejected and why, and that carry no content, caller identity or credential.
ALLOWED_STRING_KEYS = frozenset(
    {
        "request_id", "id", "ts", "timestamp", "created_at", "startTime", "endTime", "model", "model_id",
        "provider", "status", "finish_reason", "native_finish_reason", "stop_reason", "source_format",
        "service_tier", "call_type", "object", "type", "http_status", "status_code",
    }
)
# Allow-listed keys whose value is kept only when it has the expected shape (a timestamp, a
# short code): anything else under them is masked like any other string.
_SHAPES = {
    **{k: re.compile(r"[0-9T:Z+\-. ]{1,40}") for k in ("ts", "timestamp", "created_at", "startTime", "endTime")},
    **{k: re.compile(r"[A-Za-z0-9_ .\-]{1,40}") for k in ("status", "finish_reason", "native_finish_reason", "stop_reason",
                                                          "source_format", "service_tier", "call_type", "object", "type",
                                                          "http_status", "status_code")},
}
MAX_KEY_CHARS = 64  # a longer key is cut (keys are structure, but may be anything)
MAX_VALUE_CHARS = 128  # an allow-listed string value is cut to this
MAX_DEPTH = 12
MAX_ITEMS = 50
PREFIX_CHARS = 256
OUTPUT_CHARS = 8 << 10  # a redaction never exceeds this (quarantine.raw_line)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\]|\\.)*(?:"|$))'
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r'|(?P<word>[^\s"{}\[\]:,]+)',
    re.S,
)
_LITERALS = frozenset({"true", "false", "null", "NaN", "Infinity"})


def clean(text: str, cap: int) -> str:
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= cap else text[:cap] + f"…(+{len(text) - cap})"


def _value(v: Any, depth: int, allowed: bool | str) -> Any:
    if isinstance(v, str):
        shape = _SHAPES.get(allowed) if isinstance(allowed, str) else None
        keep = bool(allowed) and (shape is None or shape.fullmatch(v) is not None)
        return clean(v, MAX_VALUE_CHARS) if keep else f"<str:{len(v)}>"
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, dict):
        if depth >= MAX_DEPTH:
            return f"<object:{len(v)} keys>"
        return {clean(str(k), MAX_KEY_CHARS): _value(x, depth + 1, k if k in ALLOWED_STRING_KEYS else False)
                for k, x in v.items()}
    if isinstance(v, list):
        if depth >= MAX_DEPTH:
            return f"<list:{len(v)}>"
        items = [_value(x, depth + 1, allowed) for x in v[:MAX_ITEMS]]
        if len(v) > MAX_ITEMS:
            items.append(f"<+{len(v) - MAX_ITEMS} items>")
        return items
    return f"<{type(v).__name__}>"


def structure(parsed: Any) -> str:
    """Structural redaction of a parsed JSON value, as compact JSON text (see the module doc)."""
    text = json.dumps(_value(parsed, 0, False), separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + "…"


def mask_text(raw: str) -> str:
    """A masked prefix of a line that is not JSON (see the module doc)."""
    head = raw[: PREFIX_CHARS * 4]

    def token(m: re.Match[str]) -> str:
        text = m.group()
        if m.group("str") is not None:
            closed = len(text) > 1 and text.endswith('"') and not text.endswith('\\"')
            return f'"<str:{len(text) - (2 if closed else 1)}>"' + ("" if closed else "…")
        if m.group("num") is not None and len(text) <= 24:
            return text
        return text if text in _LITERALS else f"<word:{len(text)}>"

    masked = clean(_TOKEN.sub(token, head), PREFIX_CHARS)
    return masked + ("…" if len(raw) > len(head) and not masked.endswith("…") else "")


def redact_line(raw: str) -> str:
    """What quarantine stores of ``raw``: its structural redaction when it is JSON, else a
    masked prefix. May raise only on pathological input (e.g. nesting too deep for the parser):
    callers turn that into an ``unexplainable line``."""
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return mask_text(raw)
    return structure(parsed)
