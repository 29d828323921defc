"""Cost estimates: the vectorised price table + SQL against genai-prices' own calc_price per row."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest
from genai_prices import Usage

from gatewaylens import prices

UTC = dt.UTC

# (model_raw, provider, timestamp, input, cached, cache_write, output, reasoning)
CASES = [
    ("gpt-4.1-2025-04-14", "openai", dt.datetime(2025, 6, 1, 10, tzinfo=UTC), 12_000, 4_000, None, 800, None),
    ("gpt-4o", "azure", dt.datetime(2025, 3, 1, 23, 59, tzinfo=UTC), 3_000, None, None, 500, None),
    # o3's list price was cut on 2025-06-10: the same usage costs differently either side
    ("o3-2025-04-16", "openai", dt.datetime(2025, 6, 9, 23, 59, tzinfo=UTC), 10_000, 0, None, 5_000, 4_000),
    ("o3-2025-04-16", "openai", dt.datetime(2025, 6, 10, 0, 1, tzinfo=UTC), 10_000, 0, None, 5_000, 4_000),
    # Anthropic: cache reads and cache writes have their own rates
    ("claude-sonnet-4-20250514", "anthropic", dt.datetime(2025, 7, 1, tzinfo=UTC), 50_000, 30_000, 10_000, 2_000, None),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "amazon-bedrock", dt.datetime(2025, 5, 5, tzinfo=UTC),
     8_000, 2_000, 1_000, 700, None),
    ("claude-3-5-sonnet-v2@20241022", "google-vertex", dt.datetime(2025, 2, 2, tzinfo=UTC), 5_000, None, None, 300, None),
    # Gemini 2.5 Pro: threshold tier above 200k prompt tokens
    ("gemini-2.5-pro", "google-ai-studio", dt.datetime(2025, 8, 1, tzinfo=UTC), 150_000, 0, None, 1_000, 400),
    ("gemini-2.5-pro", "google-ai-studio", dt.datetime(2025, 8, 1, tzinfo=UTC), 250_000, 0, None, 1_000, 400),
    # open-weight models: the serving provider's own price
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", dt.datetime(2025, 4, 1, tzinfo=UTC), 2_000, None, None, 900, None),
    ("llama-3.3-70b-versatile", "groq", dt.datetime(2025, 4, 1, tzinfo=UTC), 2_000, None, None, 900, None),
    ("accounts/fireworks/models/llama-v3p1-70b-instruct", "fireworks", dt.datetime(2025, 4, 1, tzinfo=UTC), 2_000, None, None, 900, None),
    # DeepSeek: off-peak hours (16:30-00:30 UTC) have their own price
    ("deepseek-reasoner", "deepseek", dt.datetime(2025, 4, 1, 12, tzinfo=UTC), 2_000, 1_000, None, 3_000, 2_500),
    ("deepseek-reasoner", "deepseek", dt.datetime(2025, 4, 1, 20, tzinfo=UTC), 2_000, 1_000, None, 3_000, 2_500),
    ("deepseek-reasoner", "deepseek", dt.datetime(2025, 4, 1, 0, 29, 59, tzinfo=UTC), 2_000, 1_000, None, 3_000, 2_500),
]


def _sql_estimates(tmp_path, rows) -> list[float | None]:
    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    con.execute("""CREATE TABLE r (i INTEGER, model_raw VARCHAR, provider VARCHAR, ts TIMESTAMPTZ, input_tokens BIGINT,
                   cached_tokens BIGINT, cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT)""")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(i, *row) for i, row in enumerate(rows)])
    n = prices.register_price_table(con, "SELECT DISTINCT model_raw, provider FROM r")
    assert n > 0
    est = prices.estimate_sql("p", "r.input_tokens", "r.cached_tokens", "r.cache_write_tokens", "r.output_tokens",
                              "r.reasoning_tokens")
    on = prices.join_sql("p", "r.model_raw", "r.provider", "r.ts", "r.input_tokens")
    got = con.sql(f"SELECT r.i, {est} FROM r LEFT JOIN _gl_prices p ON {on} ORDER BY r.i").fetchall()
    assert [g[0] for g in got] == list(range(len(rows))), "the price join must keep exactly one row per request"
    return [g[1] for g in got]


def _reference(raw, provider, ts, inp, cached, cw, out, reasoning) -> float:
    """genai-prices' own calc_price for the model our lookup chose (its arithmetic, not ours)."""
    from gatewaylens.identity import resolve

    model, ref = prices.price_model(raw, resolve(raw).model, provider)
    assert model is not None, f"no price for {raw} on {provider}"
    pid = ref.split(":")[1]
    provider_obj = prices._providers()[pid]
    usage = Usage(input_tokens=inp, cache_read_tokens=cached or 0, cache_write_tokens=cw or 0,
                  output_tokens=out, output_reasoning_tokens=reasoning or 0)
    return float(model.calc_price(usage, provider_obj, genai_request_timestamp=ts).total_price)


def test_sql_estimate_equals_genai_prices_calc_price_per_row(tmp_path) -> None:
    got = _sql_estimates(tmp_path, CASES)
    for case, value in zip(CASES, got):
        want = _reference(*case)
        assert value is not None and math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12), (case, value, want)


def test_price_changes_and_tiers_change_the_estimate(tmp_path) -> None:
    got = _sql_estimates(tmp_path, CASES)
    assert got[2] > got[3] * 2, "o3 before the 2025-06-10 price cut costs several times more"
    assert got[8] > got[7] * 250 / 150, "above 200k prompt tokens every token is priced at the higher tier"
    assert len({round(got[i], 12) for i in (9, 10, 11)}) == 3, "the same model costs differently per provider"
    assert got[13] < got[12] / 2 and got[14] == got[13], "DeepSeek off-peak (16:30-00:30 UTC) is cheaper"


def test_unknown_model_or_unpriced_gives_null(tmp_path) -> None:
    rows = [("my-company-finetune-v7", "acme", dt.datetime(2025, 1, 1, tzinfo=UTC), 100, None, None, 10, None),
            ("gpt-4.1", None, dt.datetime(2025, 5, 1, tzinfo=UTC), 1_000_000, None, None, 0, None)]
    got = _sql_estimates(tmp_path, rows)
    assert got[0] is None
    assert got[1] == pytest.approx(2.0)  # no provider: the vendor's list price ($2 per million input tokens)


def test_intervals_cover_all_time_without_overlap() -> None:
    from genai_prices.data import providers

    for p in providers:
        for m in p.models:
            rows = prices.model_intervals(m)
            by_tier: dict[tuple[int, ...], list[tuple[dt.date, dt.date]]] = {}
            for r in rows:
                key = (r["tier_lo"], r["tier_hi"], r["tod_lo"], r["tod_hi"])
                by_tier.setdefault(key, []).append((r["valid_from"], r["valid_to"]))
            for spans in by_tier.values():
                spans.sort()
                for (a0, a1), (b0, _) in zip(spans, spans[1:]):
                    assert a1 == b0, (p.id, m.id, spans)


def test_catalog_csv_price_overrides_genai_prices(tmp_path, monkeypatch) -> None:
    csv = tmp_path / "cat.csv"
    csv.write_text("model,vendor,tier,input_usd_per_mtok,output_usd_per_mtok,cached_input_usd_per_mtok,reports_reasoning\n"
                   "openai/gpt-4.1,openai,frontier,100,200,,zero\n")
    monkeypatch.setenv("GATEWAYLENS_CATALOG", str(csv))
    rows = [("gpt-4.1-2025-04-14", "openai", dt.datetime(2025, 6, 1, tzinfo=UTC), 1_000_000, None, None, 1_000_000, None)]
    assert _sql_estimates(tmp_path, rows) == [pytest.approx(300.0)]
