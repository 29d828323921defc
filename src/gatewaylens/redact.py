"""Strip message content from lines kept in ``quarantine``.

Prompts, completions, tool arguments and system instructions are never stored — not even in the
raw text of a rejected line. Rejected lines are few, so this runs in Python, line by line.
A line that parses as JSON has every value under a content key replaced by ``"[redacted]"``
(also OTLP attributes, whose content key sits in ``{"key": ..., "value": ...}``); a line that
does not parse has the string values after content keys replaced by a regex, and a string cut
off mid-way (a truncated line) is dropped to the end of the line.
"""

from __future__ import annotations

import json
import re
from typing import Any

REDACTED = "[redacted]"

CONTENT_KEYS = frozenset(
    {
        "messages", "content", "prompt", "prompts", "completion", "completions", "text", "arguments",
        "input", "output", "instructions", "system", "thinking", "refusal", "reasoning_content",
        "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
        "gen_ai.system_instructions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
        "messages_json", "response_text", "output_text",
    }
)

_KEYS_ALT = "|".join(re.escape(k) for k in sorted(CONTENT_KEYS, key=len, reverse=True))
_STRING_AFTER_KEY = re.compile(r'("(?:' + _KEYS_ALT + r')"\s*:\s*)"(?:[^"\\]|\\.)*"')
_OPEN_STRING_AFTER_KEY = re.compile(r'("(?:' + _KEYS_ALT + r')"\s*:\s*)"(?:[^"\\]|\\.)*$')


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        otlp_content = isinstance(value.get("key"), str) and value["key"] in CONTENT_KEYS
        for k, v in value.items():
            if k in CONTENT_KEYS or (otlp_content and k == "value"):
                out[k] = REDACTED
            else:
                out[k] = _scrub(v)
        return out
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def redact_line(raw: str) -> str:
    """``raw`` with message content replaced by "[redacted]"."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        text = _STRING_AFTER_KEY.sub(lambda m: m.group(1) + f'"{REDACTED}"', raw)
        return _OPEN_STRING_AFTER_KEY.sub(lambda m: m.group(1) + f'"{REDACTED}', text)
    if not isinstance(parsed, (dict, list)):
        return raw
    scrubbed = _scrub(parsed)
    return raw if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False)
