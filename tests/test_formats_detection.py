"""Per-line detection, --format forcing, mixed files, unrecognised lines, and content never stored."""

from __future__ import annotations

from typer.testing import CliRunner

from gatewaylens import db as dbmod
from gatewaylens import formats
from gatewaylens.cli import app
from tests.conftest import write_jsonl
from tests.test_formats_fixtures import (
    MARKER, T0, anthropic_message, chat_attrs, chat_completion, dump_all_tables, envelope, flat_span, ingest, litellm,
    litellm_failure, openrouter, otlp_line, otlp_span, quarantine, rows,
)

NS = 10**9
CANONICAL = {"request_id": "canon-1", "ts": "2025-06-01T10:00:00Z", "model": "claude-sonnet-4-5-20250929",
             "provider": "anthropic", "input_tokens": 10, "output_tokens": 5}


def _mixed() -> list:
    return [
        CANONICAL,
        openrouter("gen-1"),
        {"data": openrouter("gen-2")},
        litellm_failure("c-0", "t-1", "anthropic", "429", T0 - 1.0),
        litellm("c-1", "t-1"),
        otlp_line([otlp_span("a" * 32, "1" * 16, "", T0 * NS, T0 * NS + NS, chat_attrs())]),
        flat_span("0xabc", "0xdef", None, "2025-06-01T10:00:00Z", "2025-06-01T10:00:01Z", chat_attrs()),
        envelope("env-1", chat_completion("tool_calls", tool_calls=1)),
        envelope("env-2", anthropic_message("tool_use", tool_uses=1)),
        {"hello": "world"},
        [1, 2, 3],
        "",
    ]


def test_mixed_file_detected_per_line(con, tmp_path):
    res = ingest(con, tmp_path, _mixed())
    assert (res.lines, res.rows_inserted, res.merged, res.quarantined) == (12, 8, 1, 3)
    by_format = dict(con.sql("SELECT source_format, count(*) FROM requests GROUP BY 1").fetchall())
    assert by_format == {"canonical": 1, "openrouter": 2, "litellm": 1, "otel": 2, "envelope": 2}
    assert rows(con)["canon-1"]["model"] == "anthropic/claude-sonnet-4.5"  # alias table applies to canonical too
    q = quarantine(con)
    assert q[10] == formats.UNRECOGNISED == "unrecognised format"
    assert q[11] == "not a JSON object"
    assert q[12] == "empty line"


def test_detect_sql_labels_each_shape(con, tmp_path):
    import pyarrow as pa
    import json as _json

    lines = [r if isinstance(r, str) else _json.dumps(r) for r in _mixed()]
    con.register("_t", pa.table({"line_no": list(range(1, len(lines) + 1)), "line": lines}))
    got = [r[0] for r in con.sql(f"SELECT fmt FROM ({formats.detect_sql('_t')}) ORDER BY line_no").fetchall()]
    assert got == ["canonical", "openrouter", "openrouter", "litellm", "litellm", "otel", "otel", "envelope",
                   "envelope", "!unrecognised format", "!not a JSON object", "!empty line"]


def test_forced_format_reads_every_line_as_that_format(con, tmp_path):
    res = ingest(con, tmp_path, [openrouter("gen-1"), CANONICAL], fmt="openrouter")
    assert (res.rows_inserted, res.quarantined) == (1, 1)
    reason, fmt = con.sql("SELECT reason, source_format FROM quarantine").fetchall()[0]
    assert fmt == "openrouter" and reason == "missing required field: id"


def test_cli_format_option(tmp_path, env):
    path = write_jsonl(tmp_path / "l.jsonl", [litellm("c-1", "t-1")])
    runner = CliRunner()
    bad = runner.invoke(app, ["ingest", str(path), "--format", "nope"])
    assert bad.exit_code != 0 and "litellm" in bad.output and "otel" in bad.output
    ok = runner.invoke(app, ["ingest", str(path), "--format", "litellm"])
    assert ok.exit_code == 0, ok.output
    assert "rows 1" in ok.output


def test_names_registered_in_detection_order():
    assert formats.names() == ["openrouter", "litellm", "envelope", "otel", "canonical"]


def test_content_is_never_stored(con, tmp_db, tmp_path):
    """Prompts, completions, tool definitions/arguments and error bodies all carry MARKER in the
    fixtures (so does one raw caller id, which must be hashed); no table of the warehouse file may
    contain it (every line here is accepted, so the quarantine's raw-line copy is not involved)."""
    records = [r for r in _mixed()[:9]]
    res = ingest(con, tmp_path, records)
    assert res.quarantined == 0 and res.rows_inserted == 8
    con.close()
    reopened = dbmod.connect_readonly(tmp_db)
    text = dump_all_tables(reopened)
    reopened.close()
    assert "gen-1" in text and "env-1" in text  # the dump really holds the rows
    assert MARKER not in text
