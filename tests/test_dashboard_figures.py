"""Figure builders: pure functions tested directly (traces, axes, units, colours by model/provider)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dashboards.charts import figures as F
from dashboards.charts.filters import Filters, bucket
from dashboards.charts.palette import FLAGGED, TIER_COLORS, color_for

D1, D2 = dt.date(2025, 1, 6), dt.date(2025, 1, 13)


def rate_frame(key: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": [D1, D2, D1, D2],
            key: ["openai/gpt-5", "openai/gpt-5", "qwen/qwen3-coder", "qwen/qwen3-coder"],
            "tool_call_requests": [10, 20, 5, 5],
            "successful_requests": [100, 100, 50, 25],
        }
    ).with_columns(tool_call_rate=pl.col("tool_call_requests") / pl.col("successful_requests"))


def test_palette_is_stable_and_distinguishes_models() -> None:
    assert color_for("openai/gpt-5") == color_for("openai/gpt-5")
    assert color_for("openai/gpt-5") != color_for("qwen/qwen3-coder")
    assert color_for("frontier") == TIER_COLORS["frontier"]


@pytest.mark.parametrize("by", ["model", "provider"])
def test_tool_call_rate_one_line_per_key_coloured_by_key(by: str) -> None:
    fig = F.build_tool_call_rate_figure(rate_frame(by), by=by)
    assert [t.name for t in fig.data] == ["openai/gpt-5", "qwen/qwen3-coder"]
    for t in fig.data:
        assert t.line.color == color_for(t.name)
    assert list(fig.data[1].y) == [0.1, 0.2]
    assert fig.layout.yaxis.tickformat == ".0%"
    assert "%" in fig.layout.yaxis.title.text and "UTC" in fig.layout.xaxis.title.text
    assert by in fig.layout.title.text
    assert "successful requests" in fig.data[0].hovertemplate


def test_same_model_same_colour_on_every_page() -> None:
    model = "openai/gpt-5"
    line = F.build_tool_call_rate_figure(rate_frame("model"))
    reasoning = F.build_reasoning_share_figure(
        pl.DataFrame({"period": [D1], "model": [model], "reasoning_tokens": [5], "output_tokens_reporting": [10], "reasoning_share": [0.5]})
    )
    mix = F.build_model_mix_figure(pl.DataFrame({"period": [D1], "model": [model], "requests": [3], "share": [1.0]}))
    colours = {
        next(t for t in line.data if t.name == model).line.color,
        reasoning.data[0].line.color,
        mix.data[0].line.color,
    }
    assert colours == {color_for(model)}


def test_adoption_figure_draws_both_headline_curves() -> None:
    frame = pl.DataFrame(
        {
            "period": [D1, D2],
            "tool_call_requests": [10, 30],
            "successful_requests": [100, 100],
            "tool_call_rate": [0.1, 0.3],
            "reasoning_tokens": [20, 50],
            "output_tokens_reporting": [100, 100],
            "reasoning_share": [0.2, 0.5],
        }
    )
    fig = F.build_adoption_figure(frame)
    assert [t.name for t in fig.data] == ["tool-call rate", "reasoning share"]
    assert list(fig.data[0].y) == [0.1, 0.3] and list(fig.data[1].y) == [0.2, 0.5]
    assert fig.layout.yaxis.tickformat == ".0%"


def test_when_offered_figure_puts_both_rates_side_by_side() -> None:
    frame = pl.DataFrame(
        {
            "model": ["m1", "m2"], "successful_requests": [100, 50], "tool_call_requests": [10, 5], "tool_call_rate": [0.1, 0.1],
            "tools_offered_requests": [20, 10], "tool_calls_when_offered": [10, 5], "tool_call_rate_when_offered": [0.5, 0.5],
        }
    )
    fig = F.build_when_offered_figure(frame)
    assert fig.layout.barmode == "group"
    assert [t.name for t in fig.data] == ["tool-call rate", "when tools offered"]
    assert list(fig.data[1].y) == [0.5, 0.5]


def test_model_mix_stacks_shares_and_orders_tiers() -> None:
    frame = pl.DataFrame(
        {"period": [D1] * 3, "model_tier": ["small", "frontier", "other"], "cost_usd": [1.0, 3.0, 0.0], "share": [0.25, 0.75, 0.0]}
    )
    fig = F.build_model_mix_figure(frame, by="model_tier", measure="cost_usd")
    assert [t.name for t in fig.data] == ["frontier", "small", "other"]
    assert all(t.stackgroup == "one" for t in fig.data)
    assert fig.data[0].line.color == TIER_COLORS["frontier"]
    assert "cost share" in fig.layout.title.text.lower()
    assert "USD" in fig.data[0].hovertemplate


def test_provider_figure_has_ci_error_bars_and_highlights_flagged_pairs() -> None:
    frame = pl.DataFrame(
        {
            "provider": ["a", "b", "c"], "requests": [1000, 1000, 1000], "tool_call_rate": [0.30, 0.31, 0.15],
            "ci_low": [0.27, 0.28, 0.13], "ci_high": [0.33, 0.34, 0.17], "other_tool_call_rate": [0.30, 0.30, 0.305],
            "rate_delta": [0.0, 0.01, -0.155], "p_value": [0.9, 0.6, 1e-20], "p_adjusted": [1.0, 1.0, 3e-20],
            "flagged": [False, False, True],
        }
    )
    fig = F.build_provider_tool_call_figure(frame)
    ok, bad = fig.data
    assert list(ok.x) == ["a", "b"] and list(bad.x) == ["c"]
    assert bad.marker.color == FLAGGED
    assert list(bad.error_y.array) == pytest.approx([0.02]) and list(bad.error_y.arrayminus) == pytest.approx([0.02])
    assert bad.text[0].startswith("p=1.0e-20")
    assert "95% CI" in ok.hovertemplate and "p-value" in ok.hovertemplate


def test_provider_metric_figures_have_units() -> None:
    frame = pl.DataFrame(
        {"provider": ["a", "b"], "requests": [10, 20], "error_rate": [0.01, 0.2], "flagged": [False, True],
         "latency_p50_ms": [100.0, 200.0], "latency_p95_ms": [300.0, 900.0], "ttft_p50_ms": [50.0, 60.0], "output_tps_p50": [80.0, 40.0]}
    )
    err = F.build_provider_error_rate_figure(frame)
    assert err.layout.yaxis.tickformat == ".1%"
    assert list(err.data[0].marker.line.color) == ["rgba(0,0,0,0)", FLAGGED]
    lat = F.build_provider_latency_figure(frame)
    assert len(lat.data) == 3 and lat.layout.yaxis.title.text == "milliseconds"
    tps = F.build_provider_throughput_figure(frame)
    assert "tokens per second" in tps.layout.yaxis.title.text
    assert list(tps.data[0].marker.color) == [color_for("a"), color_for("b")]


def test_uptime_heatmap_is_provider_by_hour() -> None:
    h0 = dt.datetime(2025, 1, 1, 0, tzinfo=dt.timezone.utc)
    h1 = dt.datetime(2025, 1, 1, 1, tzinfo=dt.timezone.utc)
    frame = pl.DataFrame(
        {"period": [h0, h1, h0, h1], "provider": ["a", "a", "b", "b"], "attempts": [10, 10, 10, 10],
         "attempt_success_rate": [1.0, 0.5, 1.0, 1.0]}
    )
    fig = F.build_uptime_heatmap_figure(frame)
    hm = fig.data[0]
    assert list(hm.y) == ["a", "b"]
    assert hm.z.tolist() == [[1.0, 0.5], [1.0, 1.0]]
    assert "success rate" in hm.hovertemplate


def test_failover_and_load_figures() -> None:
    fo = F.build_failover_figure(pl.DataFrame({"period": [D1, D1], "provider": ["a", "b"], "failovers_out": [3, 0],
                                               "failover_rate": [0.03, 0.0]}))
    assert [t.name for t in fo.data] == ["a", "b"] and fo.data[0].marker.color == color_for("a")
    assert list(fo.data[0].customdata) == [0.03] and "of its attempts" in fo.data[0].hovertemplate
    assert fo.layout.barmode == "stack" and "count" in fo.layout.yaxis.title.text
    heat = F.build_load_heatmap_figure(pl.DataFrame({"day": [D1, D1, D2], "hour_of_day": [0, 5, 23], "requests": [7, 3, 1]}))
    z = heat.data[0].z
    assert len(z) == 24 and z[0][0] == 7 and z[5][0] == 3 and z[23][1] == 1 and z[1][0] == 0
    ptm = F.build_peak_to_mean_figure(
        pl.DataFrame({"day": [D1], "peak_hour_requests": [30], "mean_hour_requests": [10.0], "peak_to_mean": [3.0]})
    )
    assert list(ptm.data[0].y) == [3.0]
    share = F.build_batch_share_figure(pl.DataFrame({"day": [D1], "batch_window_share": [0.4]}))
    assert share.layout.yaxis.tickformat == ".0%"


def test_data_quality_figures() -> None:
    q = F.build_quarantine_figure(pl.DataFrame({"reason": ["invalid JSON", "wrong type"], "lines": [5, 2]}))
    assert list(q.data[0].y) == ["wrong type", "invalid JSON"]  # biggest on top
    ing = F.build_ingest_figure(
        pl.DataFrame({"ingested_day": [D1], "rows_inserted": [10], "duplicates": [1], "merged": [0], "quarantined": [2]})
    )
    assert [t.name for t in ing.data] == ["rows inserted", "duplicates", "merged", "quarantined"]


@pytest.mark.parametrize(
    "builder",
    [
        F.build_adoption_figure, F.build_tool_call_rate_figure, F.build_when_offered_figure, F.build_top_apps_figure,
        F.build_reasoning_share_figure, F.build_reasoning_coverage_figure, F.build_model_mix_figure, F.build_app_mix_figure,
        F.build_provider_tool_call_figure, F.build_provider_error_rate_figure, F.build_provider_latency_figure,
        F.build_provider_throughput_figure, F.build_uptime_heatmap_figure, F.build_failover_figure,
        F.build_load_heatmap_figure, F.build_peak_to_mean_figure, F.build_batch_share_figure,
        F.build_quarantine_figure, F.build_ingest_figure, F.build_result_figure,
    ],
)
def test_builders_accept_an_empty_frame_and_keep_titles(builder) -> None:
    fig = builder(pl.DataFrame())
    assert fig.layout.title.text
    assert sum(len(t.x or []) if hasattr(t, "x") and t.x is not None else 0 for t in fig.data) == 0


def test_filters_sql_is_fixed_text_and_values_are_parameters() -> None:
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31), models=("x' OR 1=1 --",), apps=("a",))
    where = f.where(("model", "app"))
    assert "x' OR" not in where and "$models" in where and "$apps" in where and "$providers" not in where
    assert f.params(("model", "app")) == {
        "start": dt.date(2025, 1, 1), "end": dt.date(2025, 1, 31), "models": ["x' OR 1=1 --"], "apps": ["a"],
    }
    assert f.previous() == Filters(dt.date(2024, 12, 1), dt.date(2024, 12, 31), models=("x' OR 1=1 --",), apps=("a",))
    assert f.ignored(("model", "provider")) == ["app"]
    with pytest.raises(ValueError):
        bucket("year; DROP TABLE requests")


def test_catalog_models_and_known_providers_get_distinct_colours() -> None:
    from gatewaylens.catalog import CATALOG_PATH

    models = pl.read_csv(CATALOG_PATH)["model"].to_list()
    assert len({color_for(m) for m in models}) == len(models)
    providers = ["openai", "anthropic", "google-vertex", "google-ai-studio", "amazon-bedrock", "azure", "together",
                 "fireworks", "deepinfra", "novita", "mistral", "deepseek"]
    assert len({color_for(p) for p in providers}) == len(providers)


def test_reasoning_coverage_separates_zero_from_not_reported() -> None:
    fig = F.build_reasoning_coverage_figure(
        pl.DataFrame({
            "model": ["b/small", "a/big"], "nonzero_reasoning_requests": [0, 70], "zero_reasoning_requests": [40, 0],
            "not_reporting_requests": [60, 30], "reporting_coverage": [0.4, 0.7],
        })
    )
    assert [t.name for t in fig.data] == ["reported > 0", "reported zero", "not reported"]
    assert list(fig.data[0].x) == ["a/big", "b/small"] and list(fig.data[1].y) == [0, 40] and list(fig.data[2].y) == [30, 60]
    assert fig.layout.barmode == "stack"


def test_cost_reconciliation_figure_one_bar_per_model_provider_with_list_price_line() -> None:
    from dashboards.charts.figures import build_cost_reconciliation_figure

    frame = pl.DataFrame({"model": ["openai/gpt-5", "meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"],
                          "provider": ["openai", "together", "groq"], "requests": [10, 20, 30],
                          "logged_usd": [1.0, 3.0, 0.5], "estimated_usd": [1.0, 1.5, 1.0], "ratio": [1.0, 2.0, 0.5]})
    fig = build_cost_reconciliation_figure(frame)
    bars = fig.data[0]
    assert list(bars.x) == [0.5, 1.0, 2.0]  # sorted by ratio
    assert list(bars.y) == ["meta-llama/llama-3.3-70b-instruct · groq", "openai/gpt-5 · openai",
                            "meta-llama/llama-3.3-70b-instruct · together"]
    assert any(s.x0 == 1 for s in fig.layout.shapes), "the list-price reference line"


def test_substitution_figure_bars_per_requested_served_pair() -> None:
    from dashboards.charts.figures import build_substitution_figure

    frame = pl.DataFrame({"model_requested": ["openai/gpt-5", "fast"], "model": ["openai/gpt-5-mini", "openai/gpt-4o-mini"],
                          "requests": [7, 30], "share": [0.1, 1.0]})
    bars = build_substitution_figure(frame).data[0]
    assert list(bars.x) == [7, 30]
    assert list(bars.y) == ["openai/gpt-5 → openai/gpt-5-mini", "fast → openai/gpt-4o-mini"]
