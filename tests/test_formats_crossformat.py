"""The same simulated traffic written in every format must ingest to the same numbers.

For one seed, ``generate --format F`` for each format, ingest, and compare:

* ``requests`` aggregated by (day, model, provider): requests, successful, tool-call requests,
  errors, input/output/cached/reasoning token sums, rows with reasoning reported, attempts;
* the ``tool_call_rate_daily`` mart.

Fields a format cannot carry are named here and left out of the comparison for that format:
"""

from __future__ import annotations

import datetime as dt

import pytest

from gatewaylens import db as dbmod
from gatewaylens import schema
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths
from gatewaylens.marts import build_mart

FORMATS = ("canonical", "openrouter", "litellm", "otel", "envelope", "mixed", "otel_batched")
# otel_batched: the otel traffic with 7 requests per OTLP line, as the collector's file exporter batches traces
GENERATE_AS = {"otel_batched": {"fmt": "otel", "otel_batch": 7}}
START = dt.date(2025, 6, 1)
DAYS = 2

# format -> fields it cannot carry (documented in the README's formats section)
NOT_CARRIED: dict[str, set[str]] = {
    "canonical": set(),
    "openrouter": {"app", "tools_offered", "tool_call_count", "error_type", "ttft_ms"},
    "litellm": set(),
    "otel": {"tools_offered", "cost_usd", "ttft_ms", "streamed"},
    "otel_batched": {"tools_offered", "cost_usd", "ttft_ms", "streamed"},
    "envelope": {"cost_usd", "ttft_ms"},
    # a fifth of the mixed file is OpenRouter, so whatever OpenRouter cannot carry is lost there too
    "mixed": {"app", "tools_offered", "tool_call_count", "error_type", "ttft_ms", "cost_usd", "streamed"},
}

REQUEST_AGG = """
    SELECT day, model, provider, count(*) AS requests,
           count(*) FILTER (WHERE status = 'success') AS successful,
           count(*) FILTER (WHERE status = 'success' AND finish_reason = 'tool_calls') AS tool_call_requests,
           count(*) FILTER (WHERE finish_reason = 'length') AS length_requests,
           count(*) FILTER (WHERE status = 'error') AS errors,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cached_tokens) AS cached_tokens, sum(reasoning_tokens) AS reasoning_tokens,
           count(reasoning_tokens) AS reasoning_reported, sum(attempts) AS attempts,
           sum(tool_call_count) AS tool_call_count,
           count(*) FILTER (WHERE tools_offered) AS tools_offered
    FROM requests GROUP BY ALL ORDER BY ALL
"""
MART = """
    SELECT day, model, provider, {app} AS app, sum(requests), sum(successful_requests), sum(tool_call_requests)
           {offered}
    FROM tool_call_rate_daily GROUP BY ALL ORDER BY ALL
"""


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    base = tmp_path_factory.mktemp("crossformat")
    out = {}
    for fmt in FORMATS:
        landing = base / fmt
        generate(days=DAYS, requests_per_day=300, seed=23, out=landing, start=START, **GENERATE_AS.get(fmt, {"fmt": fmt}))
        con = dbmod.connect(base / f"{fmt}.duckdb")
        summary = ingest_paths(con, [landing], salt="x")
        assert summary.quarantined == 0, (fmt, con.sql("SELECT reason, count(*) FROM quarantine GROUP BY 1").fetchall())
        assert summary.records == summary.rows_inserted + summary.merged
        assert (summary.records > summary.lines) == (fmt == "otel_batched")
        build_mart(con, "tool_call_rate_daily", START, START + dt.timedelta(days=DAYS - 1))
        build_mart(con, "model_substitution_daily", START, START + dt.timedelta(days=DAYS - 1))
        out[fmt] = con
    yield out
    for con in out.values():
        con.close()


def _agg(con, skip: set[str]) -> list[dict]:
    rel = con.sql(REQUEST_AGG)
    return [{k: v for k, v in zip(rel.columns, r) if k not in skip} for r in rel.fetchall()]


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_requests_aggregates_match_canonical(warehouses, fmt):
    skip = NOT_CARRIED[fmt]
    want, got = _agg(warehouses["canonical"], skip), _agg(warehouses[fmt], skip)
    assert len(want) > 20  # many (day, model, provider) groups, including failovers and errors
    assert sum(r["attempts"] for r in want) > sum(r["requests"] for r in want)
    assert got == want


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_tool_call_rate_daily_matches_canonical(warehouses, fmt):
    skip = NOT_CARRIED[fmt]
    q = MART.format(app="'*'" if "app" in skip else "app",
                    offered="" if "tools_offered" in skip else ", sum(tools_offered_requests), sum(tool_calls_when_offered)")
    want = warehouses["canonical"].sql(q).fetchall()
    assert len(want) > 20
    assert warehouses[fmt].sql(q).fetchall() == want


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_model_substitutions_match_canonical(warehouses, fmt):
    """Every format says which model was asked for when a model fallback served another one (LiteLLM:
    the trace's first model_group; OTel: gen_ai.request.model; OpenRouter: the first attempt's
    permaslug; envelope: request.model), and the dated snapshots served for undated requested ids
    are no substitution."""
    app = "'*'" if "app" in NOT_CARRIED[fmt] else "app"
    q = (f"SELECT day, {app}, model_requested, model, sum(requests) FROM model_substitution_daily "
         "WHERE substituted GROUP BY ALL ORDER BY ALL")
    want = warehouses["canonical"].sql(q).fetchall()
    assert len(want) >= 1  # the outage day's failovers include model fallbacks
    assert warehouses[fmt].sql(q).fetchall() == want


def test_not_carried_fields_really_differ(warehouses):
    """The exclusions above are needed (else they would hide nothing): OpenRouter loses the exact
    tool-call count, OTel loses tools_offered."""
    q = "SELECT sum(tool_call_count), count(tools_offered) FROM requests"
    canon = warehouses["canonical"].sql(q).fetchall()[0]
    assert warehouses["openrouter"].sql(q).fetchall()[0][0] < canon[0]
    assert warehouses["otel"].sql(q).fetchall()[0][1] == 0 < canon[1]


def test_batched_otlp_lines_give_exactly_the_rows_of_one_trace_per_line(warehouses):
    """The same seed written one trace per OTLP line and 7 requests per line: every column of
    every `requests` row is the same (but where it was read from) and so is provider_attempts."""
    cols = [c for c in schema.RequestRow.model_fields if c not in ("source_file", "line_no", "ingested_at")]
    q = f"SELECT {', '.join(cols)} FROM requests ORDER BY request_id"
    one, batched = warehouses["otel"], warehouses["otel_batched"]
    want = one.sql(q).fetchall()
    assert len(want) == DAYS * 300 and any(r[cols.index("tool_call_count")] > 0 for r in want)
    assert batched.sql(q).fetchall() == want
    attempts = "SELECT * FROM provider_attempts ORDER BY request_id, attempt_no"
    assert batched.sql(attempts).fetchall() == one.sql(attempts).fetchall()
    lines = "SELECT sum(lines), sum(records) FROM ingested_files"
    (n_one, r_one), (n_batched, r_batched) = one.sql(lines).fetchall()[0], batched.sql(lines).fetchall()[0]
    assert n_one == r_one == r_batched == DAYS * 300 and n_batched < n_one / 5
