"""What quarantine keeps of a rejected line: structure, never content, ids or secrets."""

from __future__ import annotations

import json

from gatewaylens.ingest import ingest_paths
from gatewaylens.redact import PREFIX_CHARS, mask_text, redact_line
from tests.conftest import write_jsonl

SECRET = "SECRET-PROMPT-42"


def test_json_keeps_keys_types_lengths_and_allow_listed_values_only():
    line = json.dumps({
        "request_id": "r1", "ts": "2026-01-01T00:00:00Z", "model": "openai/gpt-5", "user": SECRET, "n": 12, "ok": True,
        "request": {"messages": [{"role": "user", "content": SECRET}], "tools": [{"name": SECRET}]},
        "attributes": [{"key": "gen_ai.input.messages", "value": {"stringValue": SECRET}}],
    })
    out = json.loads(redact_line(line))
    assert SECRET not in json.dumps(out)
    assert (out["request_id"], out["ts"], out["model"], out["n"], out["ok"]) == ("r1", "2026-01-01T00:00:00Z", "openai/gpt-5", 12, True)
    assert out["user"] == f"<str:{len(SECRET)}>"
    assert out["request"]["messages"][0] == {"role": "<str:4>", "content": f"<str:{len(SECRET)}>"}


def test_escaped_key_names_and_any_key_are_masked():
    line = '{"\\u0063ontent": "' + SECRET + '", "x-api-key": "' + SECRET + '", "model": "m"}'
    out = redact_line(line)
    assert SECRET not in out and '"model":"m"' in out


def test_truncated_or_non_json_lines_keep_a_masked_prefix():
    line = '{"request_id": "r", "prompt": "' + SECRET + '", "messages": [{"content": "' + SECRET + " and then the line ends"
    out = redact_line(line)
    assert SECRET not in out and '"<str:' in out and len(out) <= PREFIX_CHARS + 1
    assert SECRET not in mask_text(f"user={SECRET} tokens=12 true")
    assert "12" in mask_text(f"user={SECRET} tokens 12 true")


def test_deep_nesting_and_huge_lists_are_elided():
    out = redact_line("[" * 600 + "]" * 600)
    assert len(out) < 200
    assert "+50 items" in redact_line(json.dumps({"a": list(range(100))}))


def test_quarantined_envelope_keeps_no_content(con, tmp_path):
    bad = json.dumps({"ts": "not a time", "provider": "openai", "request": {"messages": [{"role": "user", "content": SECRET}]},
                      "response": {"object": "chat.completion", "model": "gpt-5", "choices": [{"message": {"content": SECRET}, "finish_reason": "stop"}]}})
    f = write_jsonl(tmp_path / "a.jsonl", [bad, '{"prompt": "' + SECRET])
    s = ingest_paths(con, [f], salt="s")
    assert s.quarantined == 2
    dump = str(con.sql("SELECT * FROM quarantine").fetchall())
    assert SECRET not in dump
