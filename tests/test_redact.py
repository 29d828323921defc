"""Message content never reaches the quarantine table, even in rejected lines."""

from __future__ import annotations

import json

from gatewaylens.ingest import ingest_paths
from gatewaylens.redact import REDACTED, redact_line
from tests.conftest import write_jsonl

SECRET = "SECRET-PROMPT-42"


def test_json_content_keys_are_redacted_everywhere():
    line = json.dumps({
        "ts": "x", "request": {"messages": [{"role": "user", "content": SECRET}], "tools": [{"name": "t"}]},
        "response": {"choices": [{"message": {"content": SECRET, "tool_calls": [{"function": {"arguments": SECRET}}]}}]},
        "attributes": [{"key": "gen_ai.input.messages", "value": {"stringValue": SECRET}}, {"key": "gen_ai.request.model", "value": {"stringValue": "m"}}],
    })
    out = redact_line(line)
    assert SECRET not in out
    assert '"m"' in out and '"name":"t"' in out  # non-content survives


def test_truncated_line_is_redacted_by_pattern():
    line = '{"request_id": "r", "prompt": "' + SECRET + '", "messages": [{"content": "' + SECRET + " and then the line ends"
    out = redact_line(line)
    assert SECRET not in out and REDACTED in out and '"request_id": "r"' in out


def test_canonical_lines_are_kept_verbatim():
    line = '{"request_id":"r1","ts":"nope","model":"m"}'
    assert redact_line(line) == line


def test_quarantined_envelope_keeps_no_content(con, tmp_path):
    bad = json.dumps({"ts": "not a time", "provider": "openai", "request": {"messages": [{"role": "user", "content": SECRET}]},
                      "response": {"object": "chat.completion", "model": "gpt-5", "choices": [{"message": {"content": SECRET}, "finish_reason": "stop"}]}})
    f = write_jsonl(tmp_path / "a.jsonl", [bad, '{"prompt": "' + SECRET])
    s = ingest_paths(con, [f], salt="s")
    assert s.quarantined == 2
    dump = str(con.sql("SELECT * FROM quarantine").fetchall())
    assert SECRET not in dump
