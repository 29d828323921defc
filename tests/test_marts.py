"""Metric marts: every mart equals an independent polars recomputation over requests /
provider_attempts on generated data; shares, rates and CIs are sane; builds are idempotent and
touch only their days; docs cover every column."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.marts import registry
from gatewaylens.catalog import load_catalog
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_file, ingest_paths

from tests.conftest import ROOT, write_jsonl

START = dt.date(2025, 3, 1)
DAYS = 21
RPD = 2500
UNKNOWN = "(unknown)"


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> tuple[Path, duckdb.DuckDBPyConnection, dict]:
    """21 days x 2500 requests/day (seed 1), ingested and every mart built once."""
    root = tmp_path_factory.mktemp("marts")
    res = generate(DAYS, RPD, 1, root / "landing", start=START)
    path = root / "wh.duckdb"
    con = dbmod.connect(path)
    ingest_paths(con, [root / "landing"], salt="test")
    marts.build_all(con, START, START + dt.timedelta(days=DAYS - 1))
    yield path, con, json.loads(res.truth_path.read_text())
    con.close()


@pytest.fixture(scope="module")
def req(wh) -> pl.DataFrame:
    return wh[1].sql("SELECT * FROM requests").pl()


@pytest.fixture(scope="module")
def catalog() -> pl.DataFrame:
    return load_catalog()


def mart(con: duckdb.DuckDBPyConnection, name: str, keys: list[str]) -> pl.DataFrame:
    assert name in marts.MARTS
    return con.sql(f"SELECT * FROM {name}").pl().sort(keys)


def same(actual: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> None:
    """Exact on keys and counts; floats to 1e-9 relative (different summation order)."""
    expected = expected.select(actual.columns).sort(keys)
    actual = actual.sort(keys)
    casts = {c: actual.schema[c] for c in actual.columns}
    assert_frame_equal(actual, expected.cast(casts), check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def ok(e: pl.Expr) -> pl.Expr:
    return e & (pl.col("status") == "success")


TOOL = ok(pl.col("finish_reason") == "tool_calls")


def div(a: str | pl.Expr, b: str | pl.Expr) -> pl.Expr:
    a = pl.col(a) if isinstance(a, str) else a
    b = pl.col(b) if isinstance(b, str) else b
    return pl.when(b > 0).then(a / b).otherwise(None)


def with_unknown(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("provider").fill_null(UNKNOWN), pl.col("app").fill_null(UNKNOWN))


# ---------------------------------------------------------------------------------------------
# independent recomputations
# ---------------------------------------------------------------------------------------------

def test_tool_call_rate_daily(wh, req) -> None:
    keys = ["day", "model", "provider", "app"]
    exp = with_unknown(req).group_by(keys).agg(
        requests=pl.len(),
        successful_requests=(pl.col("status") == "success").sum(),
        tool_call_requests=TOOL.sum(),
        tools_offered_requests=ok(pl.col("tools_offered").fill_null(False)).sum(),
        tool_calls_when_offered=(TOOL & pl.col("tools_offered").fill_null(False)).sum(),
        tools_unknown_requests=ok(pl.col("tools_offered").is_null()).sum(),
        tool_calls=pl.col("tool_call_count").filter(pl.col("status") == "success").sum(),
    ).with_columns(
        tool_call_rate=div("tool_call_requests", "successful_requests"),
        tool_call_rate_when_offered=div("tool_calls_when_offered", "tools_offered_requests"),
    )
    got = mart(wh[1], "tool_call_rate_daily", keys)
    same(got, exp, keys)
    assert got["tool_call_requests"].sum() > 1000 and got["tools_unknown_requests"].sum() > 0


def test_reasoning_share_daily(wh, req) -> None:
    keys = ["day", "model", "provider"]
    rep = pl.col("reasoning_tokens").is_not_null()
    exp = with_unknown(req).group_by(keys).agg(
        requests=pl.len(),
        reporting_requests=rep.sum(),
        zero_reasoning_requests=(pl.col("reasoning_tokens") == 0).fill_null(False).sum(),
        output_tokens=pl.col("output_tokens").sum(),
        output_tokens_reporting=pl.col("output_tokens").filter(rep).sum(),
        reasoning_tokens=pl.col("reasoning_tokens").sum(),
    ).with_columns(
        reasoning_share=div("reasoning_tokens", "output_tokens_reporting"),
        reporting_coverage=pl.col("reporting_requests") / pl.col("requests"),
    )
    same(mart(wh[1], "reasoning_share_daily", keys), exp, keys)


def _cost_frame(req: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """Requests with the cost_daily keys: cost_source from what the row carries, eff = best cost."""
    return with_unknown(req).with_columns(
        cost_source=pl.when(pl.col("cost_usd").is_not_null()).then(pl.lit("logged"))
        .when(pl.col("cost_estimated_usd").is_not_null()).then(pl.lit("estimated")).otherwise(pl.lit("unknown")),
        eff=pl.coalesce(pl.col("cost_usd"), pl.col("cost_estimated_usd")),
    )


def test_cost_daily(wh, req, catalog) -> None:
    keys = ["day", "app", "model", "provider", "cost_source"]
    exp = _cost_frame(req, catalog).group_by(keys).agg(
        requests=pl.len(),
        priced_requests=pl.col("cost_estimated_usd").is_not_null().sum(),
        input_tokens=pl.col("input_tokens").sum(),
        cached_tokens=pl.col("cached_tokens").fill_null(0).sum(),
        cache_write_tokens=pl.col("cache_write_tokens").fill_null(0).sum(),
        output_tokens=pl.col("output_tokens").sum(),
        cost_logged_usd=pl.col("cost_usd").sum(),
        cost_estimated_usd=pl.col("cost_estimated_usd").sum(),
        cost_usd=pl.col("eff").sum(),
        n_logged=pl.col("cost_usd").is_not_null().sum(),
        n_est=pl.col("cost_estimated_usd").is_not_null().sum(),
        n_eff=pl.col("eff").is_not_null().sum(),
    ).with_columns(  # SQL sum over no non-NULL value is NULL
        cost_logged_usd=pl.when(pl.col("n_logged") > 0).then("cost_logged_usd"),
        cost_estimated_usd=pl.when(pl.col("n_est") > 0).then("cost_estimated_usd"),
        cost_usd=pl.when(pl.col("n_eff") > 0).then("cost_usd"),
    )
    got = mart(wh[1], "cost_daily", keys)
    same(got, exp, keys)
    # the generator's research-agent does not log cost: every request of it gets a list-price estimate
    assert set(got.filter(pl.col("app") == "research-agent")["cost_source"]) == {"estimated"}
    assert set(got.filter(pl.col("app") == "chat-web")["cost_source"]) == {"logged"}
    assert got["priced_requests"].sum() == got["requests"].sum(), "every generated model has a list price"


def test_cost_estimates_equal_genai_prices_calc_price(req) -> None:
    """An independent recomputation of requests.cost_estimated_usd on a sample: genai-prices'
    own calc_price for the model, provider and timestamp of each request."""
    from genai_prices import Usage

    from gatewaylens import prices
    from gatewaylens.catalog import load_catalog as raw_catalog

    csv_priced = set(raw_catalog(prices=False).filter(pl.col("input_usd_per_mtok").is_not_null())["model"])
    sample = req.filter(~pl.col("model").is_in(list(csv_priced))).sample(300, seed=5)
    for r in sample.iter_rows(named=True):
        model, ref = prices.price_model(r["model_raw"], r["model"], r["provider"])
        usage = Usage(input_tokens=r["input_tokens"], cache_read_tokens=r["cached_tokens"] or 0,
                      cache_write_tokens=r["cache_write_tokens"] or 0, output_tokens=r["output_tokens"],
                      output_reasoning_tokens=r["reasoning_tokens"] or 0)
        want = float(model.calc_price(usage, prices._providers()[ref.split(":")[1]],
                                      genai_request_timestamp=r["ts"]).total_price)
        assert r["cost_estimated_usd"] == pytest.approx(want, rel=1e-9, abs=1e-12), (r["model_raw"], r["provider"])


def test_model_mix_daily(wh, req, catalog) -> None:
    keys = ["day", "model"]
    cost = _cost_frame(req, catalog).group_by(keys).agg(cost_usd=pl.col("eff").sum())
    exp = (
        req.group_by(keys).agg(requests=pl.len(), input_tokens=pl.col("input_tokens").sum(),
                                output_tokens=pl.col("output_tokens").sum())
        .join(catalog.select("model", "tier", "vendor"), on="model", how="left")
        .join(cost, on=keys, how="left")
        .with_columns(
            model_tier=pl.col("tier").fill_null("other"),
            vendor=pl.col("vendor").fill_null(pl.col("model").str.split("/").list.first()),
            in_catalog=pl.col("tier").is_not_null(),
            total_tokens=pl.col("input_tokens") + pl.col("output_tokens"),
            unknown_cost_requests=pl.lit(0),
        )
        .with_columns(
            request_share=pl.col("requests") / pl.col("requests").sum().over("day"),
            token_share=pl.col("total_tokens") / pl.col("total_tokens").sum().over("day"),
            cost_share=pl.col("cost_usd") / pl.col("cost_usd").sum().over("day"),
        )
    )
    got = mart(wh[1], "model_mix_daily", keys)
    same(got, exp, keys)
    sums = got.group_by("day").agg(pl.col("request_share", "token_share", "cost_share").sum())
    for col in ("request_share", "token_share", "cost_share"):
        assert (sums[col] - 1).abs().max() < 1e-9, col
    assert sums.height == DAYS


def test_app_model_mix_daily(wh, req, catalog) -> None:
    keys = ["day", "app"]
    r = with_unknown(req).join(catalog.select("model", "tier"), on="model", how="left").with_columns(
        pl.col("tier").fill_null("other"))
    tier = pl.col("tier")
    exp = r.group_by(keys).agg(
        requests=pl.len(),
        models_used=pl.col("model").n_unique(),
        frontier_requests=(tier == "frontier").sum(),
        small_requests=(tier == "small").sum(),
        specialty_requests=(tier == "specialty").sum(),
        other_requests=(tier == "other").sum(),
        tool_call_requests=TOOL.sum(),
        frontier_tool_call_requests=(TOOL & (tier == "frontier")).sum(),
        small_tool_call_requests=(TOOL & (tier == "small")).sum(),
    ).with_columns(small_share_of_tool_calls=div("small_tool_call_requests", "tool_call_requests"))
    got = mart(wh[1], "app_model_mix_daily", keys)
    same(got, exp, keys)
    # "frontier plans, small executes": in the agent apps most tool calls are made by small models
    support = got.filter(pl.col("app") == "support-agent")
    assert support["small_tool_call_requests"].sum() / support["tool_call_requests"].sum() > 0.7


def _variance_expected(r: pl.DataFrame) -> pl.DataFrame:
    okc = pl.col("status") == "success"
    return r.group_by(["day", "model", "provider"]).agg(
        requests=pl.len(),
        successful_requests=okc.sum(),
        tool_call_requests=TOOL.sum(),
        error_requests=(pl.col("status") == "error").sum(),
        latency_p50_ms=pl.col("latency_ms").filter(okc).quantile(0.5, "linear"),
        latency_p95_ms=pl.col("latency_ms").filter(okc).quantile(0.95, "linear"),
        ttft_p50_ms=pl.col("ttft_ms").filter(okc).quantile(0.5, "linear"),
        output_tps_p50=(pl.col("output_tokens") / (pl.col("latency_ms") / 1000.0))
        .filter(okc & (pl.col("latency_ms") > 0) & (pl.col("output_tokens") > 0)).quantile(0.5, "linear"),
        **{f"finish_{f}": (pl.col("finish_reason") == f).sum()
           for f in ("stop", "tool_calls", "length", "content_filter", "error", "other")},
    ).with_columns(
        tool_call_rate=div("tool_call_requests", "successful_requests"),
        error_rate=div("error_requests", "requests"),
        providers_of_model=pl.len().over(["day", "model"]),
    )


COUNT_COLS = ["requests", "successful_requests", "tool_call_requests", "error_requests", "tool_call_rate",
              "error_rate", "providers_of_model", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
              "output_tps_p50", "finish_stop", "finish_tool_calls", "finish_length", "finish_content_filter",
              "finish_error", "finish_other"]


def test_provider_variance_daily_aggregates(wh, req) -> None:
    keys = ["day", "model", "provider"]
    got = mart(wh[1], "provider_variance_daily", keys)
    same(got.select(keys + COUNT_COLS), _variance_expected(with_unknown(req)), keys)


def test_provider_variance_window_aggregates(wh, req) -> None:
    """Each window_end day aggregates exactly the requests of the 7 days ending on it."""
    keys = ["day", "model", "provider"]
    w = marts.MartSettings().variance_window_days
    r = with_unknown(req)
    windows = pl.concat(
        [r.filter(pl.col("day").is_between(d - dt.timedelta(days=w - 1), d)).with_columns(day=pl.lit(d))
         for d in sorted(r["day"].unique())]
    )
    got = mart(wh[1], "provider_variance", keys)
    same(got.select(keys + COUNT_COLS), _variance_expected(windows), keys)
    assert (got["window_end"] == got["day"]).all()
    assert (got["window_start"] == got["day"] - dt.timedelta(days=w - 1)).all()
    last = got.filter(pl.col("day") == got["day"].max())
    assert last["days_with_data"].max() == w


def test_provider_variance_reference_and_delta(wh) -> None:
    """other_* columns re-derived from the pair rows of the reference providers."""
    got = wh[1].sql("SELECT * FROM provider_variance").pl()
    by = {(r["day"], r["model"], r["provider"]): r for r in got.iter_rows(named=True)}
    checked = 0
    for r in got.iter_rows(named=True):
        if r["reference_providers"] is None:
            assert r["other_tool_call_rate"] is None and not r["flagged"]
            continue
        refs = r["reference_providers"].split(",")
        assert r["provider"] not in refs
        n = sum(by[(r["day"], r["model"], p)]["successful_requests"] for p in refs)
        x = sum(by[(r["day"], r["model"], p)]["tool_call_requests"] for p in refs)
        assert (r["other_successful_requests"], r["other_tool_call_requests"]) == (n, x)
        assert r["rate_delta"] == pytest.approx(r["tool_call_rate"] - x / n, abs=1e-12)
        if r["flagged"]:
            assert r["p_adjusted"] < 0.05 and abs(r["rate_delta"]) >= 0.02
        if r["p_value"] is not None:
            assert r["p_value"] <= r["p_adjusted"] <= 1
        checked += 1
    assert checked > 300


def test_provider_ranking(wh) -> None:
    con = wh[1]
    rk = con.sql("SELECT * FROM provider_ranking").pl()
    var = con.sql("SELECT day, model, provider, ci_low, flagged, error_flagged FROM provider_variance").pl()
    assert rk.height == var.height
    exp = var.sort(["day", "model", "ci_low", "provider"], descending=[False, False, True, False], nulls_last=True)
    # rank 1..n per model in order of the lower CI bound (ties broken by error rate/latency)
    for (day, model), g in rk.group_by(["day", "model"]):
        assert sorted(g["rank"]) == list(range(1, g.height + 1))
        ordered = g.sort("rank")["ci_low"].fill_null(-1.0).to_list()
        assert ordered == sorted(ordered, reverse=True)
    assert not rk.filter(pl.col("recommended") & (pl.col("flagged") | pl.col("error_flagged"))).height
    last = rk.filter(pl.col("day") == rk["day"].max())
    assert last.filter(pl.col("recommended"))["model"].n_unique() == last["model"].n_unique()
    assert exp.height == var.height


def _attempts_frame(con) -> pl.DataFrame:
    a = con.sql("SELECT * FROM provider_attempts").pl()
    r = con.sql("SELECT request_id, status, provider AS final_provider, attempts AS n_attempts FROM requests").pl()
    a = a.join(r, on="request_id")
    # no status reported: failed when another attempt followed, or when the request failed
    failed = pl.when(pl.col("http_status").is_null()).then(
        (pl.col("attempt_no") < pl.col("n_attempts")) | (pl.col("status") == "error")
    ).otherwise(pl.col("http_status") >= 400)
    return a.with_columns(
        failed=failed,
        failover_out=failed & (pl.col("status") == "success") & (pl.col("final_provider") != pl.col("provider"))
        & (pl.col("attempt_no") < pl.col("n_attempts")),
        hour=pl.col("ts").dt.truncate("1h"),
    )


def _uptime(a: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return a.group_by(keys).agg(
        attempts=pl.len(), failed_attempts=pl.col("failed").sum(), failovers_out=pl.col("failover_out").sum(),
        latency_p50_ms=pl.col("latency_ms").quantile(0.5, "linear"),
        latency_p95_ms=pl.col("latency_ms").quantile(0.95, "linear"),
    ).with_columns(success_rate=1 - pl.col("failed_attempts") / pl.col("attempts"))


def test_provider_uptime_daily_and_hourly(wh) -> None:
    con = wh[1]
    a = _attempts_frame(con)
    same(mart(con, "provider_uptime_daily", ["day", "provider"]), _uptime(a, ["day", "provider"]), ["day", "provider"])
    keys = ["day", "hour", "provider"]
    same(mart(con, "provider_uptime_hourly", keys), _uptime(a, keys), keys)


def test_outage_hours_dip_in_provider_uptime_hourly(wh) -> None:
    con, truth = wh[1], wh[2]
    hourly = con.sql("SELECT hour, provider, attempts, success_rate, failovers_out FROM provider_uptime_hourly").pl()
    assert truth["outages"]
    for o in truth["outages"]:
        start = dt.datetime.fromisoformat(o["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(o["end"].replace("Z", "+00:00"))
        p = hourly.filter(pl.col("provider") == o["provider"])
        inside = p.filter((pl.col("hour") >= start) & (pl.col("hour") < end))
        outside = p.filter((pl.col("hour") < start) | (pl.col("hour") >= end))
        assert inside.height == (end - start).total_seconds() // 3600
        assert inside["success_rate"].max() < 0.05, o  # the dip, at exactly the injected hours
        # elsewhere: no dip in any hour with enough attempts to tell (night hours can have 2 attempts)
        assert outside.filter(pl.col("attempts") >= 20)["success_rate"].min() > 0.8, o
        assert inside["failovers_out"].sum() == o["requests_failed_over"]


def test_load_marts(wh, req) -> None:
    con = wh[1]
    r = with_unknown(req).with_columns(hour=pl.col("ts").dt.truncate("1h"), minute=pl.col("ts").dt.truncate("1m"))
    keys = ["day", "hour", "app"]
    exp_h = r.group_by(keys).agg(
        requests=pl.len(), input_tokens=pl.col("input_tokens").sum(), output_tokens=pl.col("output_tokens").sum(),
        tool_call_requests=TOOL.sum(), error_requests=(pl.col("status") == "error").sum())
    same(mart(con, "load_hourly", keys), exp_h, keys)
    exp_m = r.group_by(["day", "minute"]).agg(
        requests=pl.len(), input_tokens=pl.col("input_tokens").sum(), output_tokens=pl.col("output_tokens").sum())
    same(mart(con, "load_minutely", ["day", "minute"]), exp_m, ["day", "minute"])

    cfg = marts.MartSettings()
    hours = r.group_by(["day", "hour"]).agg(n=pl.len())
    exp_p = hours.group_by("day").agg(
        requests=pl.col("n").sum(), active_hours=pl.len(),
        peak_hour=pl.col("hour").sort_by(["n", "hour"], descending=[True, False]).first(),
        peak_hour_requests=pl.col("n").max(),
        batch_window_requests=pl.col("n").filter(pl.col("hour").dt.hour().is_between(
            cfg.batch_window_start_hour, cfg.batch_window_end_hour - 1)).sum(),
    ).join(exp_m.group_by("day").agg(peak_minute_requests=pl.col("requests").max()), on="day").with_columns(
        mean_hour_requests=pl.col("requests") / 24.0,
        peak_to_mean=pl.col("peak_hour_requests") / (pl.col("requests") / 24.0),
        peak_minute_to_mean=pl.col("peak_minute_requests") / (pl.col("requests") / 1440.0),
        batch_window_start_hour=pl.lit(cfg.batch_window_start_hour),
        batch_window_end_hour=pl.lit(cfg.batch_window_end_hour),
        batch_window_share=pl.col("batch_window_requests") / pl.col("requests"),
    )
    got = mart(con, "load_profile_daily", ["day"])
    same(got, exp_p, ["day"])
    truth_share = wh[2]["batch_window"]["share_of_requests"]
    assert got["batch_window_requests"].sum() / got["requests"].sum() == pytest.approx(truth_share, abs=1e-6)


def test_adoption_view_matches_truth_and_requests(wh, req) -> None:
    con, truth = wh[1], wh[2]
    view = con.sql("SELECT * FROM v_adoption_monthly ORDER BY month").pl()
    months = {m["month"]: m for m in truth["monthly"]}
    assert view.height == len(months)
    for row in view.iter_rows(named=True):
        m = months[row["month"].strftime("%Y-%m")]
        assert row["requests"] == m["requests"]
        assert row["tool_call_rate"] == pytest.approx(m["tool_call_rate_realized"], abs=1e-6)
        assert row["reasoning_share"] == pytest.approx(m["reasoning_share_realized"], abs=1e-6)
    v = con.sql("SELECT * FROM v_requests").pl()
    assert v.height == req.height
    frontier = v.filter(pl.col("model_tier") == "frontier")
    tokens = (pl.col("input_tokens") + pl.col("output_tokens")).sum()
    assert view["frontier_tokens"].sum() == frontier.select(tokens).item()
    assert view["cost_usd"].sum() == pytest.approx(v["cost_usd_effective"].sum(), rel=1e-9)
    assert view["small_request_share"].is_between(0, 1).all()


# ---------------------------------------------------------------------------------------------
# invariants
# ---------------------------------------------------------------------------------------------

RATE_COLUMNS = {
    "tool_call_rate_daily": ["tool_call_rate", "tool_call_rate_when_offered"],
    "reasoning_share_daily": ["reasoning_share", "reporting_coverage"],
    "model_mix_daily": ["request_share", "token_share", "cost_share"],
    "app_model_mix_daily": ["small_share_of_tool_calls"],
    "provider_variance_daily": ["tool_call_rate", "ci_low", "ci_high", "error_rate", "other_tool_call_rate",
                                "p_value", "p_adjusted", "error_p_value", "error_p_adjusted"],
    "provider_variance": ["tool_call_rate", "ci_low", "ci_high", "error_rate", "error_ci_low", "error_ci_high",
                          "p_value", "p_adjusted"],
    "provider_uptime_daily": ["success_rate"],
    "provider_uptime_hourly": ["success_rate"],
    "load_profile_daily": ["batch_window_share"],
}


def test_rates_in_unit_interval_and_ci_contains_rate(wh) -> None:
    con = wh[1]
    for table, cols in RATE_COLUMNS.items():
        frame = con.sql(f"SELECT * FROM {table}").pl()
        for c in cols:
            s = frame[c].drop_nulls()
            assert s.len() > 0, (table, c)
            assert ((s >= 0) & (s <= 1 + 1e-12)).all(), (table, c)
    for table in ("provider_variance_daily", "provider_variance"):
        f = con.sql(f"SELECT * FROM {table} WHERE successful_requests > 0").pl()
        assert (f["ci_low"] <= f["tool_call_rate"] + 1e-12).all() and (f["tool_call_rate"] <= f["ci_high"] + 1e-12).all()
        assert (f["error_ci_low"] <= f["error_rate"] + 1e-12).all() and (f["error_rate"] <= f["error_ci_high"] + 1e-12).all()


def test_wilson_sql_equals_python(wh) -> None:
    from gatewaylens.stats import wilson_interval

    f = wh[1].sql("SELECT tool_call_requests, successful_requests, ci_low, ci_high FROM provider_variance_daily").pl()
    for x, n, lo, hi in f.iter_rows():
        if n:
            assert (lo, hi) == pytest.approx(wilson_interval(x, n), abs=1e-12)


def test_null_reasoning_never_lowers_share(tmp_path: Path) -> None:
    """Adding requests that do not report reasoning changes coverage, never the share."""
    def line(i: int, out: int, reasoning: int | None) -> dict:
        d = {"request_id": f"r{i}", "ts": "2025-05-01T10:00:00Z", "model": "openai/gpt-5", "provider": "openai",
             "status": "success", "output_tokens": out, "input_tokens": 10}
        if reasoning is not None:
            d["reasoning_tokens"] = reasoning
        return d

    con = dbmod.connect(tmp_path / "w.duckdb")
    ingest_file(con, write_jsonl(tmp_path / "a.jsonl", [line(1, 100, 40), line(2, 100, 0)]), salt="s")
    marts.build_mart(con, "reasoning_share_daily", dt.date(2025, 5, 1))
    before = con.sql("SELECT reasoning_share, reporting_coverage FROM reasoning_share_daily").fetchall()
    ingest_file(con, write_jsonl(tmp_path / "b.jsonl", [line(i, 5000, None) for i in range(3, 9)]), salt="s")
    marts.build_mart(con, "reasoning_share_daily", dt.date(2025, 5, 1))
    after = con.sql("SELECT reasoning_share, reporting_coverage, requests, output_tokens FROM reasoning_share_daily").fetchall()
    assert before == [(0.2, 1.0)]
    assert after == [(0.2, 0.25, 8, 30200)]
    con.close()


def _snapshot(con) -> dict[str, pl.DataFrame]:
    return {name: con.sql(f"SELECT * FROM {name}").pl().sort(pl.all()) for name in marts.MARTS}


@pytest.fixture
def copy_db(wh, tmp_path: Path):
    path, con, _ = wh
    con.execute("CHECKPOINT")
    target = tmp_path / "copy.duckdb"
    shutil.copy(path, target)
    c = dbmod.connect(target)
    yield target, c
    c.close()


def test_rebuild_is_identical_and_day_local(copy_db, tmp_path: Path) -> None:
    _, con = copy_db
    day = START + dt.timedelta(days=10)
    before = _snapshot(con)
    marts.build_all(con, day)
    marts.build_all(con, day)
    after = _snapshot(con)
    for name in marts.MARTS:
        assert_frame_equal(before[name], after[name], check_exact=True)
    # Now change day N's input and rebuild day N only: every other day is untouched.
    extra = [{"request_id": f"extra-{i}", "ts": f"{day.isoformat()}T12:{i:02d}:00Z", "model": "openai/gpt-5",
              "provider": "openai", "app": "new-app", "status": "success", "finish_reason": "tool_calls",
              "input_tokens": 100, "output_tokens": 10, "cost_usd": 0.0002} for i in range(30)]
    ingest_file(con, write_jsonl(tmp_path / "extra.jsonl", extra), salt="s")
    marts.build_all(con, day)
    changed = _snapshot(con)
    for name in marts.MARTS:
        old, new = before[name], changed[name]
        lo, hi = registry.get(name).bound_days(day, day)  # the partition a build of `day` rewrites (its month if monthly)
        mine = pl.col("day").is_between(lo, hi)
        assert_frame_equal(old.filter(~mine), new.filter(~mine), check_exact=True)
        # extra lines have no attempts list and report no requested model
        # 30 requests on day N are no change against any pair's own history (provider_regressions)
        if name not in ("provider_uptime_daily", "provider_uptime_hourly", "model_substitution_daily",
                        "provider_regressions"):
            assert not old.filter(mine).equals(new.filter(mine)), name


def test_cli_build(copy_db) -> None:
    from gatewaylens.cli import app

    path, con = copy_db
    con.close()
    runner = CliRunner()
    res = runner.invoke(app, ["build", "--day", (START + dt.timedelta(days=3)).isoformat(), "--db", str(path)])
    assert res.exit_code == 0, res.output
    for name in marts.MARTS:
        assert name in res.output
    bad = runner.invoke(app, ["build", "--day", "yesterday", "--db", str(path)])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    both = runner.invoke(app, ["build", "--all", "--day", "2025-03-01", "--db", str(path)])
    assert both.exit_code == 2 and "exactly one" in both.output


def test_old_layout_is_reported_with_advice(tmp_path: Path) -> None:
    con = dbmod.connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE load_minutely (day DATE, minute TIMESTAMPTZ, requests BIGINT)")
    with pytest.raises(marts.MartLayoutError, match="--rebuild"):
        marts.build_mart(con, "load_minutely", dt.date(2025, 1, 1))
    marts.drop_marts(con)
    marts.build_mart(con, "load_minutely", dt.date(2025, 1, 1))
    con.close()


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYLENS_VARIANCE_WINDOW_DAYS", "14")
    assert marts.mart_settings().variance_window_days == 14
    monkeypatch.setenv("GATEWAYLENS_BATCH_WINDOW_END_HOUR", "0")
    with pytest.raises(ValueError, match="GATEWAYLENS"):
        marts.mart_settings()


# ---------------------------------------------------------------------------------------------
# documentation
# ---------------------------------------------------------------------------------------------

def test_docs_cover_every_column(wh) -> None:
    con = wh[1]
    docs = marts.mart_docs()
    for table in [*marts.MARTS, *marts.CATALOG_TABLES, *marts.VIEWS]:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table]).fetchall()]
        assert cols, table
        documented = set(docs[table])
        if table == "v_requests":
            from gatewaylens.schema import column_docs
            documented |= set(column_docs()["requests"])
        missing = [c for c in cols if c not in documented]
        assert not missing, (table, missing)
        assert all(docs[table].values()), table
