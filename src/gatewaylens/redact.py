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

# Dotted attribute names of the OTel instrumentations (OpenLLMetry ``gen_ai.prompt.0.content``,
# ``gen_ai.completion.0.tool_calls.0.arguments``; OpenInference ``llm.input_messages.0.message.content``,
# ``input.value``, ``tool_call.function.arguments``; Logfire ``tool_arguments``, ``events`` ...) carry
# content under keys that are not in CONTENT_KEYS: a dotted key whose last part is one of these
# is content too.
CONTENT_LEAVES = frozenset(
    {
        "content", "contents", "text", "arguments", "arguments_json", "function_call_arguments_json", "value",
        "input", "output", "result", "messages", "all_messages", "transcript", "refusal", "reasoning_content",
        "template", "variables", "query", "url", "data", "encrypted_content", "signature",
        # tool definitions offered to the model (their descriptions and schemas are prompt text)
        "description", "json_schema", "parameters", "definitions",
    }
)
OTEL_CONTENT_KEYS = frozenset(
    {
        "tool_arguments", "tool_response", "final_result", "all_messages_events", "events", "prompt_template",
        "llm.function_call", "llm.invocation_parameters", "model_request_parameters",
    }
)


def is_content_key(key: str) -> bool:
    """Whether values under ``key`` are message content (never kept, not even in quarantine)."""
    if key in CONTENT_KEYS or key in OTEL_CONTENT_KEYS:
        return True
    return "." in key and key.rsplit(".", 1)[1] in CONTENT_LEAVES


_KEYS_ALT = "|".join(re.escape(k) for k in sorted(CONTENT_KEYS | OTEL_CONTENT_KEYS, key=len, reverse=True))
_LEAVES_ALT = "|".join(sorted(CONTENT_LEAVES))
_KEY = r'(?:' + _KEYS_ALT + r'|[^"\\]*\.(?:' + _LEAVES_ALT + r'))'
_STRING_AFTER_KEY = re.compile(r'("' + _KEY + r'"\s*:\s*)"(?:[^"\\]|\\.)*"')
_OPEN_STRING_AFTER_KEY = re.compile(r'("' + _KEY + r'"\s*:\s*)"(?:[^"\\]|\\.)*$')
# an OTLP attribute {"key": "<content key>", "value": {"stringValue": "..."}} in a line that does not parse
_OTLP_VALUE_AFTER_KEY = re.compile(
    r'("key"\s*:\s*"' + _KEY + r'"\s*,\s*"value"\s*:\s*\{\s*"stringValue"\s*:\s*)"(?:[^"\\]|\\.)*("|$)')


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        otlp_content = isinstance(value.get("key"), str) and is_content_key(value["key"])
        for k, v in value.items():
            if is_content_key(k) or (otlp_content and k == "value"):
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
        text = _OTLP_VALUE_AFTER_KEY.sub(lambda m: m.group(1) + f'"{REDACTED}' + ('"' if m.group(2) else ''), raw)
        text = _STRING_AFTER_KEY.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
        return _OPEN_STRING_AFTER_KEY.sub(lambda m: m.group(1) + f'"{REDACTED}', text)
    if not isinstance(parsed, (dict, list)):
        return raw
    scrubbed = _scrub(parsed)
    return raw if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False)
