"""The #14 marts (policy, lock-in, users, sessions, cache, errors, latency): each equals an
independent polars recomputation over ``requests`` on generated data (3 calendar months so the
monthly marts and their month-bound builds are exercised); monthly marts rebuilt from one day
equal the full build; the generator's usage realism is visible in them."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.catalog import load_catalog
from gatewaylens.generator import generate
from gatewaylens.generator import usage
from gatewaylens.ingest import ingest_paths
from gatewaylens.providers import load_providers

START = dt.date(2025, 1, 20)
DAYS = 45  # Jan 20 .. Mar 5: three calendar months
RPD = 500
END = START + dt.timedelta(days=DAYS - 1)
UNKNOWN = "(unknown)"
NEW = [
    "policy_exposure_daily", "vendor_concentration_monthly", "model_switches", "model_adoption_lag",
    "user_activity_daily", "session_summary_daily", "cache_daily", "errors_daily", "latency_daily",
    "app_dimensions_daily",
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    res = generate(DAYS, RPD, 3, root / "landing", start=START)
    path = root / "wh.duckdb"
    con = dbmod.connect(path)
    ingest_paths(con, [root / "landing"], salt="test")
    marts.build_all(con, START, END)
    yield path, con, json.loads(res.truth_path.read_text())
    con.close()


@pytest.fixture(scope="module")
def req(wh) -> pl.DataFrame:
    return (
        wh[1].sql("SELECT * FROM requests").pl()
        .with_columns(
            pl.col("app").fill_null(UNKNOWN),
            pl.col("provider").fill_null(UNKNOWN),
            (pl.col("input_tokens") + pl.col("output_tokens")).alias("tokens"),
            pl.coalesce("cost_usd", "cost_estimated_usd").alias("cost"),
        )
    )


def mart(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.sql(f"SELECT * FROM {name}").pl()


def same(actual: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> None:
    """Exact on keys and counts; floats to 1e-9 relative."""
    assert actual.height > 0, "empty mart: the test would prove nothing"
    expected = expected.select(actual.columns).sort(keys)
    actual = actual.sort(keys)
    assert_frame_equal(actual, expected.cast(actual.schema), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def div(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(b > 0).then(a / b).otherwise(None)


def test_every_new_mart_is_registered_and_documented(wh) -> None:
    docs = marts.mart_docs()
    for name in NEW:
        assert name in marts.MARTS, name
        cols = [r[0] for r in wh[1].sql(f"DESCRIBE {name}").fetchall()]
        assert set(cols) == set(docs[name]), (name, set(cols) ^ set(docs[name]))
        assert all(docs[name][c] for c in cols), name


def test_policy_exposure_daily(wh, req) -> None:
    con = wh[1]
    cat = load_providers()
    cost = mart(con, "cost_daily").group_by("day", "app", "provider").agg(pl.col("cost_usd").sum())
    exp = (
        req.group_by("day", "app", "provider")
        .agg(requests=pl.len(), input_tokens=pl.col("input_tokens").sum(), output_tokens=pl.col("output_tokens").sum())
        .join(cost, on=["day", "app", "provider"], how="left")
        .join(cat.with_columns(policy_known=pl.lit(True)), on="provider", how="left")
        .with_columns(pl.col("policy_known").fill_null(False))
        .with_columns(pl.col(c).fill_null("unknown") for c in cat.columns if c not in ("provider", "source_url", "as_of", "notes"))
    )
    same(mart(con, "policy_exposure_daily"), exp, ["day", "app", "provider"])
    # the generator's providers are all catalogued: every request has a known policy
    assert mart(con, "policy_exposure_daily")["policy_known"].all()


def test_app_dimensions_daily(wh, req) -> None:
    keys = ["day", "app", "team", "tags"]
    exp = req.with_columns(pl.col("tags").cast(pl.List(pl.String))).group_by(keys).agg(requests=pl.len())
    got = mart(wh[1], "app_dimensions_daily")
    key = [*keys, "requests"]
    assert sorted(got.select(key).rows()) == sorted(exp.select(key).rows()), "one row per (day, app, team, tags)"
    assert got["requests"].sum() == req.height
    # the generated apps log their team and tags (canonical lines carry both)
    assert got["team"].null_count() == 0 and got.filter(pl.col("tags").is_null()).height == 0


def test_cache_daily(wh, req) -> None:
    cat = load_catalog()
    keys = ["day", "model", "provider", "app"]
    exp = (
        req.group_by(keys)
        .agg(
            requests=pl.len(),
            input_tokens=pl.col("input_tokens").sum(),
            input_tokens_reporting=pl.col("input_tokens").filter(pl.col("cached_tokens").is_not_null()).sum(),
            cached_tokens=pl.col("cached_tokens").fill_null(0).sum(),
            cache_write_tokens=pl.col("cache_write_tokens").fill_null(0).sum(),
            cache_write_requests=(pl.col("cache_write_tokens").fill_null(0) > 0).sum(),
        )
        .join(cat, on="model", how="left")
        .with_columns(
            cache_hit_rate=div(pl.col("cached_tokens"), pl.col("input_tokens_reporting")),
            cache_read_savings_usd=pl.col("cached_tokens")
            * (pl.col("input_usd_per_mtok") - pl.col("cached_input_usd_per_mtok").fill_null(pl.col("input_usd_per_mtok")))
            / 1e6,
            cache_write_premium_usd=pl.col("cache_write_tokens")
            * (pl.col("cache_write_usd_per_mtok").fill_null(pl.col("input_usd_per_mtok")) - pl.col("input_usd_per_mtok"))
            / 1e6,
        )
        .with_columns(savings_usd=pl.col("cache_read_savings_usd") - pl.col("cache_write_premium_usd"))
    )
    got = mart(wh[1], "cache_daily")
    same(got, exp, keys)
    assert got["savings_usd"].sum() > 0 and got["cached_tokens"].sum() > 0
    assert got["cache_write_premium_usd"].sum() > 0 and (got["savings_usd"] < got["cache_read_savings_usd"]).any()
    # cache writes reach the mart whenever the ingested format carries them
    assert (got["cache_write_tokens"].sum() > 0) == (req["cache_write_tokens"].fill_null(0).sum() > 0)


def test_cache_savings_are_net_of_the_write_premium_at_genai_prices(wh) -> None:
    """Independent of the mart's arithmetic: per model, genai-prices' own calc_price of the vendor's list
    price gives what 1,000 cached-read tokens save against uncached input and what 1,000 cache-written
    tokens cost above it (Anthropic: writes at 1.25x input); the mart's net savings are exactly those
    unit amounts times its token counts."""
    from genai_prices import Usage

    from gatewaylens import prices

    got = mart(wh[1], "cache_daily").group_by("model").agg(
        pl.col("cached_tokens").sum(), pl.col("cache_write_tokens").sum(), pl.col("savings_usd").sum(),
        pl.col("cache_write_premium_usd").sum())
    csv_priced = set(load_catalog(use_env=False, prices=False).filter(pl.col("input_usd_per_mtok").is_not_null())["model"])
    checked = {}
    for row in got.iter_rows(named=True):
        model, ref = prices.price_model(row["model"], row["model"], None)
        if model is None or row["model"] in csv_priced:
            continue  # priced by the catalog CSV: not genai-prices' list price
        provider = prices._providers()[ref.split(":")[1]]

        def cost(**usage) -> float:
            return float(model.calc_price(Usage(input_tokens=1000, **usage), provider).total_price)
        read_saving = cost() - cost(cache_read_tokens=1000)
        write_premium = cost(cache_write_tokens=1000) - cost()
        want = (row["cached_tokens"] * read_saving - row["cache_write_tokens"] * write_premium) / 1000
        assert row["savings_usd"] == pytest.approx(want, rel=1e-9, abs=1e-12), row["model"]
        assert row["cache_write_premium_usd"] == pytest.approx(row["cache_write_tokens"] * write_premium / 1000,
                                                               rel=1e-9, abs=1e-12), row["model"]
        checked[row["model"]] = write_premium
    # the Anthropic models write to the cache at a premium (1.25x input); OpenAI's implicit cache has none
    assert checked["anthropic/claude-sonnet-4.5"] == pytest.approx(0.25 * 3.0 / 1000)
    assert checked["openai/gpt-5"] == 0 and len(checked) >= 8


def test_errors_daily(wh, req) -> None:
    keys = ["day", "model", "provider", "error_type", "http_status"]
    pair = req.group_by("day", "model", "provider").agg(requests=pl.len())
    exp = (
        req.filter(pl.col("status") == "error")
        .with_columns(pl.col("error_type").fill_null(UNKNOWN), pl.col("http_status").fill_null(-1))
        .group_by(keys)
        .agg(errors=pl.len())
        .join(pair, on=["day", "model", "provider"])
        .with_columns(error_share=pl.col("errors") / pl.col("requests"))
    )
    got = mart(wh[1], "errors_daily")
    same(got, exp, keys)
    assert {"rate_limit", "timeout", "invalid_request"} <= set(got["error_type"].to_list())


def test_latency_daily(wh, req) -> None:
    keys = ["day", "model", "provider", "app"]
    ok = req.filter(pl.col("status") == "success").with_columns(
        tpot=pl.when(pl.col("ttft_ms").is_not_null() & (pl.col("output_tokens") > 1) & (pl.col("latency_ms") >= pl.col("ttft_ms")))
        .then((pl.col("latency_ms") - pl.col("ttft_ms")) / (pl.col("output_tokens") - 1))
        .when(pl.col("output_tokens") > 0)
        .then(pl.col("latency_ms") / pl.col("output_tokens")),
        tps=pl.when((pl.col("latency_ms") > 0) & (pl.col("output_tokens") > 0)).then(pl.col("output_tokens") / (pl.col("latency_ms") / 1000)),
    )

    def q(col: str, p: float) -> pl.Expr:
        return pl.col(col).quantile(p, interpolation="linear")

    exp = ok.group_by(keys).agg(
        requests=pl.len(),
        latency_requests=pl.col("latency_ms").count(),
        latency_p50_ms=q("latency_ms", 0.5), latency_p90_ms=q("latency_ms", 0.9),
        latency_p95_ms=q("latency_ms", 0.95), latency_p99_ms=q("latency_ms", 0.99),
        ttft_requests=pl.col("ttft_ms").count(),
        ttft_p50_ms=q("ttft_ms", 0.5), ttft_p90_ms=q("ttft_ms", 0.9), ttft_p95_ms=q("ttft_ms", 0.95), ttft_p99_ms=q("ttft_ms", 0.99),
        tpot_requests=pl.col("tpot").count(),
        tpot_p50_ms=q("tpot", 0.5),
        output_tps_p50=q("tps", 0.5),
    )
    got = mart(wh[1], "latency_daily")
    same(got, exp, keys)
    both = got.drop_nulls(["latency_p99_ms", "latency_p50_ms"])
    assert (both["latency_p99_ms"] >= both["latency_p95_ms"]).all() and (both["latency_p95_ms"] >= both["latency_p50_ms"]).all()


def test_user_activity_daily(wh, req) -> None:
    users = req.filter(pl.col("user_hash").is_not_null())
    act = users.group_by("app", "user_hash", "day").agg(  # SQL sum: NULL when every value is NULL
        requests=pl.len(), tokens=pl.col("tokens").sum(),
        cost=pl.when(pl.col("cost").count() > 0).then(pl.col("cost").sum()),
    )
    rows = []
    days = sorted(req["day"].unique().to_list())
    for d in days:
        window = act.filter((pl.col("day") <= d) & (pl.col("day") > d - dt.timedelta(days=28)))
        apps = set(window["app"].to_list()) | set(req.filter(pl.col("day") == d)["app"].to_list())
        for app in sorted(apps):
            w = window.filter(pl.col("app") == app)
            today = w.filter(pl.col("day") == d)
            before = act.filter((pl.col("app") == app) & (pl.col("day") < d) & (pl.col("day") >= d - dt.timedelta(days=90)))
            new = today.filter(~pl.col("user_hash").is_in(before["user_hash"].implode()))
            q = today["cost"]
            rows.append({
                "day": d, "app": app,
                "active_users": today.height, "new_users": new.height,
                "wau": w.filter(pl.col("day") > d - dt.timedelta(days=7))["user_hash"].n_unique(),
                "mau": w["user_hash"].n_unique(),
                "requests": int(today["requests"].sum()), "tokens": int(today["tokens"].sum()),
                "cost_usd": q.sum() if today.height and q.null_count() < today.height else None,
                "cost_per_user_p50": q.quantile(0.5, "linear") if today.height else None,
                "cost_per_user_p90": q.quantile(0.9, "linear") if today.height else None,
                "cost_per_user_p99": q.quantile(0.99, "linear") if today.height else None,
                "anonymous_requests": req.filter((pl.col("day") == d) & (pl.col("app") == app) & pl.col("user_hash").is_null()).height,
            })
    got = mart(wh[1], "user_activity_daily")
    same(got, pl.DataFrame(rows, infer_schema_length=None), ["day", "app"])
    # heavy tail: on busy app-days the p99 user costs several times the median user
    busy = got.filter(pl.col("active_users") >= 50)
    assert (busy["cost_per_user_p99"] / busy["cost_per_user_p50"]).median() > 3
    assert got["new_users"].sum() > 0 and (got["mau"] >= got["wau"]).all() and (got["wau"] >= got["active_users"]).all()


def test_session_summary_daily(wh, req) -> None:
    s = (
        req.filter(pl.col("session_id").is_not_null())
        .group_by("day", "app", "session_id")
        .agg(
            requests=pl.len(), tokens=pl.col("tokens").sum(),
            cost=pl.when(pl.col("cost").count() > 0).then(pl.col("cost").sum()),
            minutes=(pl.col("ts").max() - pl.col("ts").min()).dt.total_milliseconds() / 60000.0,
        )
    )

    def q(col: str, p: float) -> pl.Expr:
        return pl.col(col).cast(pl.Float64).quantile(p, interpolation="linear")

    agg = s.group_by("day", "app").agg(
        sessions=pl.len(), session_requests=pl.col("requests").sum(),
        requests_per_session_p50=q("requests", 0.5), requests_per_session_p90=q("requests", 0.9),
        tokens_per_session_p50=q("tokens", 0.5), tokens_per_session_p90=q("tokens", 0.9),
        cost_per_session_p50=q("cost", 0.5), cost_per_session_p90=q("cost", 0.9),
        session_minutes_p50=q("minutes", 0.5), session_minutes_p90=q("minutes", 0.9),
    )
    exp = (
        req.group_by("day", "app")
        .agg(requests=pl.len(), requests_without_session=pl.col("session_id").is_null().sum())
        .join(agg, on=["day", "app"], how="left")
        .with_columns(pl.col("sessions").fill_null(0), pl.col("session_requests").fill_null(0))
    )
    got = mart(wh[1], "session_summary_daily")
    same(got, exp, ["day", "app"])
    with_sessions = set(got.filter(pl.col("sessions") > 0)["app"].to_list())
    assert with_sessions <= set(usage.SESSION_APPS)
    # sessions reach the mart whenever the ingested format carries session ids
    assert bool(with_sessions) == (req["session_id"].null_count() < req.height)


def _month(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(month=pl.col("day").dt.truncate("1mo"))


def test_vendor_concentration_monthly(wh, req) -> None:
    cat = load_catalog().select("model", "vendor")
    r = _month(req).join(cat, on="model", how="left").with_columns(
        pl.col("vendor").fill_null(pl.col("model").str.split("/").list.first())
    )
    known = pl.col("provider") != UNKNOWN
    served = r.group_by("day", "model").agg(n=pl.col("provider").filter(known).n_unique())
    a = r.group_by("month", "app").agg(
        requests=pl.len(), total_tokens=pl.col("tokens").sum(), models_used=pl.col("model").n_unique(),
        vendors_used=pl.col("vendor").n_unique(), providers_used=pl.col("provider").filter(known).n_unique(),
    )
    v = r.group_by("month", "app", "vendor").agg(t=pl.col("tokens").sum())
    vh = v.sort(["t", "vendor"], descending=[True, False]).group_by("month", "app").agg(
        vt=(pl.col("t") ** 2).sum(), top_vendor=pl.col("vendor").first(), top_t=pl.col("t").first()
    )
    ph = r.group_by("month", "app", "provider").agg(t=pl.col("tokens").sum()).group_by("month", "app").agg(pt=(pl.col("t") ** 2).sum())
    mp = r.group_by("month", "app", "model").agg(t=pl.col("tokens").sum(), n=pl.col("provider").filter(known).n_unique())
    single = mp.group_by("month", "app").agg(single_provider_tokens=pl.col("t").filter(pl.col("n") == 1).sum())
    cov = r.join(served, on=["day", "model"]).group_by("month", "app").agg(failover_covered_requests=(pl.col("n") >= 2).sum())
    tt = pl.col("total_tokens").cast(pl.Float64)
    exp = (
        a.join(vh, on=["month", "app"]).join(ph, on=["month", "app"]).join(single, on=["month", "app"]).join(cov, on=["month", "app"])
        .with_columns(
            vendor_hhi=div(pl.col("vt"), tt * tt), provider_hhi=div(pl.col("pt"), tt * tt),
            top_vendor_share=div(pl.col("top_t"), tt), single_provider_share=div(pl.col("single_provider_tokens"), tt),
            failover_coverage=pl.col("failover_covered_requests") / pl.col("requests"),
        )
        .rename({"month": "day"})
    )
    got = mart(wh[1], "vendor_concentration_monthly")
    same(got, exp, ["day", "app"])
    assert got["day"].dt.day().unique().to_list() == [1] and got["day"].n_unique() == 3
    assert ((got["vendor_hhi"] > 0) & (got["vendor_hhi"] <= 1 + 1e-12)).all()


def _top_models(req: pl.DataFrame) -> pl.DataFrame:
    m = _month(req).group_by("month", "app", "model").agg(t=pl.col("tokens").sum())
    return m.with_columns(share=pl.col("t") / pl.col("t").sum().over("month", "app"))


def test_model_switches(wh, req) -> None:
    s = _top_models(req)
    top = s.sort(["t", "model"], descending=[True, False]).group_by("month", "app").first()
    prev = top.with_columns(pl.col("month").dt.offset_by("1mo")).select(
        "month", "app", pl.col("model").alias("from_model"), pl.col("share").alias("share_before"))
    cur = top.select("month", "app", pl.col("model").alias("to_model"), pl.col("share").alias("share_after"))
    fa = s.select("month", "app", pl.col("model").alias("from_model"), pl.col("share").alias("from_model_share_after"))
    tb = s.with_columns(pl.col("month").dt.offset_by("1mo")).select(
        "month", "app", pl.col("model").alias("to_model"), pl.col("share").alias("to_model_share_before"))
    has_prev = pl.col("from_model").is_not_null()
    exp = (
        cur.join(prev, on=["month", "app"], how="left")
        .join(fa, on=["month", "app", "from_model"], how="left").join(tb, on=["month", "app", "to_model"], how="left")
        .with_columns(
            switched=(has_prev & (pl.col("from_model") != pl.col("to_model"))).fill_null(False),
            from_model_share_after=pl.when(has_prev).then(pl.col("from_model_share_after").fill_null(0.0)),
            to_model_share_before=pl.when(has_prev).then(pl.col("to_model_share_before").fill_null(0.0)),
        )
        .rename({"month": "day"})
    )
    got = mart(wh[1], "model_switches")
    same(got, exp, ["day", "app"])
    assert got.height == req.select(pl.col("day").dt.truncate("1mo"), "app").unique().height


def test_model_adoption_lag(wh, req) -> None:
    u = req.group_by("app", "model").agg(first_used_by_app=pl.col("day").min())
    g = u.group_by("model").agg(first_seen_in_gateway=pl.col("first_used_by_app").min())
    exp = (
        u.join(g, on="model")
        .with_columns(
            day=pl.col("first_used_by_app"),
            lag_days=(pl.col("first_used_by_app") - pl.col("first_seen_in_gateway")).dt.total_days(),
            adoption_rank=pl.col("first_used_by_app").rank("min").over("model"),
            present_at_start=pl.col("first_seen_in_gateway") == req["day"].min(),
        )
    )
    got = mart(wh[1], "model_adoption_lag")
    same(got, exp, ["app", "model"])
    # launches in the generator: opus 4.5 appears after the first day, and apps adopt it with a lag
    opus = got.filter(pl.col("model") == "anthropic/claude-opus-4.5")
    assert not opus["present_at_start"].any() and opus["lag_days"].max() > 0


@pytest.fixture
def copy_db(wh, tmp_path: Path):
    dst = tmp_path / "copy.duckdb"
    wh[1].execute("CHECKPOINT")
    shutil.copy(wh[0], dst)
    con = dbmod.connect(dst)
    yield con
    con.close()


def test_monthly_marts_rebuilt_from_one_day_equal_the_full_build(copy_db) -> None:
    """A build of one day of February rewrites February only, from February's rows (O(month))."""
    before = {n: mart(copy_db, n) for n in ("vendor_concentration_monthly", "model_switches")}
    copy_db.execute("DELETE FROM vendor_concentration_monthly WHERE day = DATE '2025-02-01'")
    copy_db.execute("DELETE FROM model_switches WHERE day = DATE '2025-02-01'")
    for name in before:
        marts.build_mart(copy_db, name, dt.date(2025, 2, 14))
        after = mart(copy_db, name)
        assert_frame_equal(after.sort("day", "app"), before[name].sort("day", "app"))
