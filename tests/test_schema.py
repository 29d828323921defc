"""The pydantic models and the DuckDB DDL describe the same tables."""

import json
from pathlib import Path

import pytest

from gatewaylens import schema


def _columns(con, table):
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(n, t.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"), nullable == "YES") for n, t, nullable in rows]


def _declared(table):
    return [(c.name, c.type, c.nullable) for c in schema.TABLES[table].columns]


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_fresh_warehouse_matches_the_declared_tables(con, table):
    assert _columns(con, table) == _declared(table)
    model = schema.TABLE_MODELS[table]
    assert list(model.model_fields) == schema.TABLES[table].names()
    for c in schema.TABLES[table].columns:
        field = model.model_fields[c.name]
        assert field.description == c.doc
        assert field.is_required() and (type(None) in getattr(field.annotation, "__args__", ())) == c.nullable


def test_round2_warehouse_migrates_to_the_declared_tables(tmp_path):
    """A warehouse created by the round-2 DDL (before `records` and the #11 columns) gets every
    later column by ALTER TABLE, at the end, with its backfill; its rows are kept."""
    import duckdb

    from gatewaylens import db

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute((Path(__file__).parent / "fixtures" / "round2_ddl.sql").read_text())
    old.execute("INSERT INTO ingested_files VALUES ('a.jsonl', 'abc', 10, 3, 2, 1, 0, 0, now())")
    old.execute("""INSERT INTO requests VALUES ('r1', now(), current_date, 'canonical', NULL, NULL, 'openai/gpt-4o',
                   NULL, 'success', 200, NULL, 'stop', NULL, NULL, 0, 10, NULL, 5, NULL, NULL, NULL, NULL, NULL, 1,
                   'a.jsonl', 1, now())""")
    old.close()
    con = db.connect(path)
    try:
        for table in schema.TABLES:
            assert _columns(con, table) == _declared(table), table
        assert con.sql("SELECT records FROM ingested_files").fetchall() == [(3,)]
        assert con.sql("SELECT request_id, model_raw, tags FROM requests").fetchall() == [("r1", None, None)]
    finally:
        con.close()


def test_staged_columns_derive_from_requests():
    """Every requests column a format may set is staged under its own name and type; a format
    that does not produce one (e.g. the #11 columns) stages NULL."""
    staged = dict(schema.staged_columns())
    for c in schema.REQUESTS.columns:
        if c.staged:
            assert staged[c.name] == c.type
    for name in ("model_raw", "model_requested", "cost_estimated_usd", "cost_source", "cache_write_tokens",
                 "cancelled", "session_id", "team", "tags", "service_tier", "agent"):
        column = schema.REQUESTS.column(name)
        assert column.nullable and column.staged and column.doc
    assert staged["tags"] == "VARCHAR[]"


def test_contract_columns_present():
    """The columns the issue fixes as a contract are all there (extras are allowed)."""
    contract = (
        "request_id ts day source_format app user_hash model provider status http_status error_type "
        "finish_reason native_finish_reason tools_offered tool_call_count input_tokens cached_tokens "
        "output_tokens reasoning_tokens cost_usd latency_ms ttft_ms streamed attempts"
    ).split()
    assert contract == list(schema.RequestRow.model_fields)[: len(contract)]
    assert {"request_id", "attempt_no", "provider", "http_status", "latency_ms", "ts"} <= set(schema.ProviderAttemptRow.model_fields)
    assert {"source_file", "line_no", "raw_line", "reason", "ingested_at"} <= set(schema.QuarantineRow.model_fields)


def test_published_json_schema_is_current():
    published = json.loads(schema.SCHEMA_PATH.read_text())
    assert published == json.loads(json.dumps(schema.canonical_json_schema())), (
        "run `gatewaylens schema --write src/gatewaylens/schemas/canonical_line.schema.json`"
    )


def test_every_column_is_documented():
    for table, cols in schema.column_docs().items():
        for col, doc in cols.items():
            assert doc, f"{table}.{col} has no description"
