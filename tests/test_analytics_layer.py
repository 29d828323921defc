"""The metrics layer, the provider catalogue, the colour-blind-safe palette and the #14 figure
builders, tested directly (no warehouse): SQL of a metric equals a polars recomputation on a
real in-memory DuckDB table, allow-lists refuse unknown names, the catalogue cites a source per
row and honours GATEWAYLENS_PROVIDERS, the palette keeps every pair apart under simulated
colour-vision deficiencies, builders escape names from the data."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from dashboards.charts import analytics_figures as af
from dashboards.charts import palette
from dashboards.charts.filters import Filters
from dashboards.charts.text import safe_figure
from gatewaylens import metrics
from gatewaylens.generator import scenario
from gatewaylens.providers import PROVIDERS_PATH, load_providers, refresh_provider_catalog

DATA = Path(__file__).resolve().parent.parent / "src" / "gatewaylens" / "data"


# ----------------------------------------------------------------------------- metrics layer


@pytest.fixture
def tcr() -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(5)
    n = 400
    frame = pl.DataFrame({
        "day": [dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 40, n)],
        "model": rng.choice(["a/x", "b/y", "c/z"], n),
        "provider": rng.choice(["p1", "p2"], n),
        "app": rng.choice(["app1", "app2", "app3"], n),
        "requests": rng.integers(10, 100, n),
    }).with_columns(successful_requests=(pl.col("requests") * 0.9).cast(pl.Int64)).with_columns(
        tool_call_requests=(pl.col("successful_requests") * pl.lit(rng.random(n))).cast(pl.Int64)
    )
    con = duckdb.connect()
    con.register("f", frame.to_arrow())
    con.execute("CREATE TABLE tool_call_rate_daily AS SELECT * FROM f")
    return con


def test_metric_sql_is_sum_over_sum_at_any_grain(tcr) -> None:
    f = Filters(dt.date(2025, 1, 5), dt.date(2025, 1, 30), apps=("app1", "app3"))
    dims = ("model", "provider", "app")
    got = tcr.sql(
        metrics.metric_sql(["tool_call_rate", "success_rate"], by=("model",), where=f.where(dims),
                           period="CAST(date_trunc('week', day) AS DATE)"),
        params=f.params(dims),
    ).pl()
    src = tcr.sql("SELECT * FROM tool_call_rate_daily").pl().filter(
        pl.col("day").is_between(f.start, f.end) & pl.col("app").is_in(["app1", "app3"])
    )
    exp = src.with_columns(period=pl.col("day").dt.truncate("1w")).group_by("period", "model").agg(
        pl.col("tool_call_requests").sum(), pl.col("successful_requests").sum(), pl.col("requests").sum()
    ).with_columns(
        tool_call_rate=pl.col("tool_call_requests") / pl.col("successful_requests"),
        success_rate=pl.col("successful_requests") / pl.col("requests"),
    ).sort("period", "model")
    assert got.height == exp.height > 5
    for col in ("tool_call_requests", "successful_requests", "requests"):
        assert got[col].to_list() == exp[col].to_list()
    assert np.allclose(got["tool_call_rate"].to_numpy(), exp["tool_call_rate"].to_numpy())
    assert np.allclose(got["success_rate"].to_numpy(), exp["success_rate"].to_numpy())


def test_metric_shares_sum_to_one_within_their_partition(tcr) -> None:
    got = tcr.sql(metrics.metric_sql(["requests"], by=("app", "model"), shares=("app",))).pl()
    sums = got.group_by("app").agg(pl.col("requests_share").sum())["requests_share"].to_list()
    assert np.allclose(sums, 1.0) and len(sums) == 3
    total = tcr.sql(metrics.metric_sql(["requests"], by=("model",), period="day", shares=True)).pl()
    assert np.allclose(total.group_by("period").agg(pl.col("requests_share").sum())["requests_share"].to_numpy(), 1.0)


def test_metric_allow_lists_refuse_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.metric_sql(["tool_call_rate; DROP TABLE requests"])
    with pytest.raises(ValueError, match="not a dimension"):
        metrics.metric_sql(["reasoning_share"], by=("app",))  # reasoning_share_daily has no app column
    with pytest.raises(ValueError, match="different marts"):
        metrics.metric_sql(["tool_call_rate", "reasoning_share"])
    with pytest.raises(ValueError, match="shares within"):
        metrics.metric_sql(["requests"], by=("model",), shares=("app",))


def test_metric_registry_describes_every_metric() -> None:
    rows = metrics.describe()
    assert {r["metric"] for r in rows} == set(metrics.METRICS)
    assert all(r["numerator"].startswith("sum(") and r["description"] for r in rows)
    ratio = metrics.metric("tool_call_rate")
    assert ratio.value(3, 4) == 0.75 and ratio.value(3, 0) is None and metrics.metric("requests").value(7) == 7.0


# ----------------------------------------------------------------------------- provider catalogue


def test_catalogue_covers_every_known_provider_and_cites_a_source() -> None:
    cat = load_providers(use_env=False)
    with (DATA / "provider_aliases.csv").open() as fh:
        aliased = {r["provider"] for r in csv.DictReader(fh)}
    generated = {p for b in scenario.MODELS.values() for p in b.providers}
    assert aliased | generated <= set(cat["provider"].to_list())
    assert cat["source_url"].str.starts_with("https://").all()
    assert all(dt.date.fromisoformat(d) <= dt.date.today() for d in cat["as_of"].to_list())
    # honest: what is not published stays 'unknown'
    assert (cat["gpu_ownership"] == "unknown").any() and (cat.filter(pl.col("provider") == "novita")["retains_prompts"] == "unknown").all()


def test_catalogue_override_extends_and_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "mine.csv"
    rows = PROVIDERS_PATH.read_text().splitlines()
    header = rows[0]
    openai = next(r for r in rows if r.startswith("openai,"))
    override.write_text("\n".join([
        header,
        openai.replace("openai,yes,", "openai,no,", 1),  # our ZDR agreement
        "acme-gpu,no,no,yes,EU,owned,yes,yes,https://example.com/policy,2026-01-01,in-house cluster",
    ]) + "\n")
    monkeypatch.setenv("GATEWAYLENS_PROVIDERS", str(override))
    cat = load_providers()
    assert cat.filter(pl.col("provider") == "openai")["retains_prompts"].to_list() == ["no"]
    assert cat.filter(pl.col("provider") == "acme-gpu")["jurisdiction"].to_list() == ["EU"]
    assert cat.height == load_providers(use_env=False).height + 1
    con = duckdb.connect()
    assert refresh_provider_catalog(con) == cat.height
    assert con.sql("SELECT count(*) FROM provider_catalog WHERE provider = 'acme-gpu'").fetchall() == [(1,)]


def test_catalogue_rejects_values_outside_the_vocabulary(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(PROVIDERS_PATH.read_text().splitlines()[0] + "\nx,maybe,no,yes,EU,owned,no,no,https://e.com,2026-01-01,\n")
    with pytest.raises(ValueError, match="invalid retains_prompts"):
        load_providers(bad, use_env=False)
    bad.write_text(PROVIDERS_PATH.read_text().splitlines()[0] + "\nx,no,no,yes,Europe!,owned,no,no,https://e.com,2026-01-01,\n")
    with pytest.raises(ValueError, match="invalid jurisdiction"):
        load_providers(bad, use_env=False)


# ----------------------------------------------------------------------------- palette

# Machado, Oliveira & Fernandes (2009) severity-1.0 simulation matrices, on linear RGB.
CVD = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]),
}


def _lab(hex_colour: str, m: np.ndarray) -> np.ndarray:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lin = np.clip(m @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_palette_pairs_stay_apart_under_colour_vision_deficiencies() -> None:
    worst = min(
        np.linalg.norm(_lab(a, m) - _lab(b, m))
        for i, a in enumerate(palette.PALETTE) for b in palette.PALETTE[i + 1:] for m in CVD.values()
    )
    assert len(palette.PALETTE) >= 16 and worst >= 11.0, worst


def test_every_catalogued_model_has_its_own_colour_and_apps_are_distinct() -> None:
    with (DATA / "model_catalog.csv").open() as fh:
        models = [r["model"] for r in csv.DictReader(fh)]
    colours = [palette.color_for(m) for m in models]
    assert len(set(colours)) == len(models) >= 13
    assert palette.color_for("anthropic/claude-haiku-4.5") != palette.color_for("qwen/qwen3-coder")
    apps = [a.name for a in scenario.APPS]
    palette.register_apps(apps)
    assert len({palette.color_for(a) for a in apps}) == len(apps)
    assert palette.color_for(apps[0]) == palette.color_for(apps[0])  # stable


# ----------------------------------------------------------------------------- figures

EVIL = "<b>evil</b><img src=x onerror=alert(1)>"
BUILDERS = {
    "policy_share": (lambda f: af.build_policy_share_figure(f, "retains_prompts"),
                     pl.DataFrame({"period": [dt.date(2025, 1, 1)] * 2, "value": ["yes", EVIL], "total_tokens": [3, 1],
                                   "total_tokens_share": [0.75, 0.25]})),
    "policy_by_app": (lambda f: af.build_policy_by_app_figure(f, "jurisdiction"),
                      pl.DataFrame({"app": [EVIL, "b"], "value": ["EU", "US"], "total_tokens": [3, 1], "total_tokens_share": [1.0, 1.0]})),
    "hhi": (af.build_hhi_figure, pl.DataFrame({"day": [dt.date(2025, 1, 1)], "app": [EVIL], "vendor_hhi": [0.5], "top_vendor": ["x"]})),
    "optionality": (af.build_optionality_figure, pl.DataFrame({"app": [EVIL], "single_provider_share": [0.2], "failover_coverage": [0.9]})),
    "switches": (af.build_switches_figure, pl.DataFrame({"day": [dt.date(2025, 2, 1)], "app": [EVIL], "from_model": ["a/x"],
                                                          "to_model": ["b/y"], "share_before": [0.6], "share_after": [0.5]})),
    "adoption_lag": (af.build_adoption_lag_figure, pl.DataFrame({"app": [EVIL], "model": ["a/x"], "lag_days": [12]})),
    "active_users": (af.build_active_users_figure, pl.DataFrame({"day": [dt.date(2025, 1, 1)], "active_users": [3], "wau": [5], "mau": [9]})),
    "cost_per_user": (af.build_cost_per_user_figure, pl.DataFrame({"day": [dt.date(2025, 1, 1)], "cost_per_user_p50": [0.01],
                                                                   "cost_per_user_p90": [0.1], "cost_per_user_p99": [1.0]})),
    "sessions": (af.build_sessions_figure, pl.DataFrame({"app": [EVIL], "sessions": [10], "requests_per_session_p50": [2.0],
                                                         "requests_per_session_p90": [6.0]})),
    "rate_lines": (lambda f: af.build_rate_lines_figure(f, "provider", "rate", "n", "d", "t", "y"),
                   pl.DataFrame({"period": [dt.date(2025, 1, 1)], "provider": [EVIL], "n": [1], "d": [2], "rate": [0.5]})),
    "cache_savings": (af.build_cache_savings_figure, pl.DataFrame({"model": [EVIL], "savings_usd": [1.5], "cached_tokens": [10],
                                                                   "cache_write_tokens": [3]})),
    "errors": (af.build_errors_figure, pl.DataFrame({"period": [dt.date(2025, 1, 1)], "error_type": [EVIL], "errors": [4]})),
    "latency_tail": (af.build_latency_tail_figure, pl.DataFrame({"provider": [EVIL], **{c: [1.0] for c in (
        "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p50_ms", "ttft_p99_ms")}})),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_builders_draw_their_frame_escape_names_and_accept_empty_frames(name: str) -> None:
    build, frame = BUILDERS[name]
    fig = safe_figure(build(frame))  # what ui.chart draws
    assert fig.layout.title.text
    text = str(fig.to_dict())
    assert "<img" not in text and "<b>evil" not in text
    if any(EVIL in frame[c].cast(pl.String).to_list() for c in frame.columns):
        assert "&lt;b&gt;evil" in text and "&amp;lt;" not in text  # escaped exactly once
    assert sum(len(t.x if t.x is not None else t.z or []) for t in fig.data) > 0
    empty = build(frame.clear())
    assert empty.layout.title.text == fig.layout.title.text
