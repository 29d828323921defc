"""OTel instrumentation conventions (semconv, OpenLLMetry, OpenInference, Logfire/pydantic-ai,
LangChain-style gen_ai.span.kind, plain model+usage spans), each in OTLP/JSON and flattened form:
the same agent run must give the same requests, tool-call counts, agent and dimensions, and no
content may reach any table."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from gatewaylens.formats import otel
from tests.fixtures import otel_conventions as oc
from tests.test_formats_fixtures import dump_all_tables, ingest, quarantine, rows

SHAPES = {"otlp": oc.otlp_lines, "flat": oc.flat_lines}


def _staged(lines: list) -> dict[str, dict]:
    """otel.staged_sql over the lines, by request_id (the format's own output, before ingest's
    common normalisation)."""
    con = duckdb.connect()
    texts = [x if isinstance(x, str) else json.dumps(x) for x in lines]
    con.register("src", pa.table({"line_no": list(range(1, len(texts) + 1)), "line": texts}))
    rel = con.sql(otel.staged_sql("src"))
    out = {r[rel.columns.index("request_id")]: dict(zip(rel.columns, r)) for r in rel.fetchall()
           if r[rel.columns.index("reason")] is None and not r[rel.columns.index("merged")]}
    con.close()
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("conv", oc.CONVENTIONS)
def test_convention_gives_the_documented_requests(conv, shape, con, tmp_path):
    lines = SHAPES[shape](conv)
    res = ingest(con, tmp_path, lines)
    # the two model calls are requests; in flattened form the agent and tool lines fold into them
    assert (res.rows_inserted, res.quarantined) == (2, 0), quarantine(con)
    assert res.merged == (0 if shape == "otlp" else 3)
    stored = rows(con)
    staged = _staged(lines)
    for span_no, want in oc.EXPECTED[conv].items():
        rid = oc.request_id(conv, span_no)
        row, st = stored[rid], staged[rid]
        assert row["app"] == "support-app" and row["source_format"] == "otel"
        for col, value in want.items():
            if col in ("session", "user"):  # stored salted-hashed, never raw
                got = row["session_id"] if col == "session" else row["user_hash"]
                assert (got is not None) == value, (conv, span_no, col, got)
                assert got is None or (len(got) == 64 and got != st["session_id" if col == "session" else "user_raw"])
            elif col == "model_requested":  # the raw id this format extracts (the identity step normalises it)
                assert st[col] == value, (conv, span_no, col, st[col])
            elif col in row:
                assert row[col] == value, (conv, span_no, col, row[col])
            else:  # a dimension column the warehouse does not have yet: the staged value
                assert st[col] == value, (conv, span_no, col, st[col])


@pytest.mark.parametrize("conv", oc.CONVENTIONS)
def test_otlp_and_flattened_forms_stage_the_same_requests(conv):
    a, b = _staged(oc.otlp_lines(conv)), _staged(oc.flat_lines(conv))
    assert set(a) == set(b) and len(a) == 2
    skip = {"line_no", "record_no"}
    for rid in a:
        assert {k: v for k, v in a[rid].items() if k not in skip} == {k: v for k, v in b[rid].items() if k not in skip}


def test_no_content_reaches_any_table_even_quarantine(con, tmp_path):
    lines = [x for conv in oc.CONVENTIONS for x in oc.otlp_lines(conv) + oc.flat_lines(conv)]
    # and every line once more, broken, so that it is quarantined with its raw text
    bad_time = oc.otlp_lines("openllmetry")[0]
    bad_time["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["startTimeUnixNano"] = "soon"
    broken = [json.dumps(x)[:-3] for x in lines] + [json.dumps(bad_time)]
    ingest(con, tmp_path, lines + broken)
    assert con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0] >= len(broken)
    assert oc.MARKER not in dump_all_tables(con)


def test_a_span_with_a_kind_is_taken_at_its_word():
    # an embedding span carries a model and token usage but is not a text generation; an
    # OpenInference CHAIN/AGENT span with aggregated usage is not a model call either
    emb = {"llm.request.type": "embedding", "gen_ai.request.model": "text-embedding-3-small",
           "gen_ai.usage.prompt_tokens": 12}
    chain = {"openinference.span.kind": "CHAIN", "llm.model_name": "gpt-4o", "llm.token_count.prompt": 99}
    lines = [oc.flat_lines("plain")[1] | {"attributes": emb}, oc.flat_lines("plain")[1] | {"attributes": chain}]
    assert _staged(lines) == {}


def test_sample_files_are_the_fixtures_without_content(con, tmp_path):
    """sample_data/otel_conventions/ is what ``python -m tests.fixtures.otel_conventions`` writes."""
    fresh = oc.write_samples(tmp_path / "fresh")
    committed = oc.ROOT / "sample_data" / "otel_conventions"
    assert sorted(p.name for p in committed.glob("*.jsonl")) == sorted(p.name for p in fresh)
    for p in fresh:
        assert (committed / p.name).read_text() == p.read_text(), f"regenerate {p.name}"
    # each convention's OTLP file and flattened file hold the same two requests
    from gatewaylens.ingest import ingest_paths
    s = ingest_paths(con, [committed], salt="s")
    assert (s.rows_inserted, s.duplicates, s.quarantined) == (2 * len(oc.CONVENTIONS), 2 * len(oc.CONVENTIONS), 0)
