"""The pydantic models and the DuckDB DDL describe the same tables."""

import json

import pytest

from gatewaylens import schema


@pytest.mark.parametrize("table", list(schema.TABLE_MODELS))
def test_ddl_matches_pydantic_model(con, table):
    model = schema.TABLE_MODELS[table]
    cols = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    assert [c[0] for c in cols] == list(model.model_fields), "column names/order differ"
    for name, data_type, nullable in cols:
        expected = schema.duckdb_type(model, name)
        assert data_type.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ") == expected, name
        assert (nullable == "YES") == schema.is_nullable(model, name), f"nullability of {table}.{name}"


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
