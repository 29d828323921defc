"""Every dashboard page under Streamlit's AppTest, on a warehouse built by the project's own
generator + ingest + marts (once per module): no exception, expected metrics/widgets, filters
change the numbers, filter values reach SQL only as parameters, friendly state when data is missing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.charts import data
from dashboards.charts.filters import Filters
from dashboards.harness import build_demo_warehouse
from tests.conftest import ROOT

pytestmark = pytest.mark.xdist_group("dashboard_apptest")

APP = str(ROOT / "dashboards" / "app.py")
DAYS, RPD = 42, 250
START = dt.date(2025, 1, 1)

PAGES = {
    "overview": ["Requests", "Tokens", "Tool-call rate", "Reasoning share", "Cost", "Success rate"],
    "tool_calling": ["Tool-call requests", "Tool-call rate", "Rate when tools offered"],
    "reasoning": ["Reasoning share", "Reporting coverage", "Reasoning tokens"],
    "model_mix": [],
    "providers": ["Providers", "Flagged providers", "Recommended pool"],
    "load": ["Busiest hour of day (UTC)", "Median peak-to-mean", "Traffic in batch window"],
    "alerts": ["Open", "Critical", "Resolved (shown)"],
    "data_quality": ["Files ingested", "Rows inserted", "Quarantined lines", "Last ingest"],
    "sql": [],
    "performance": ["Error rate", "Rescued failures", "Cache hit rate", "Cache savings"],
    "data_policy": ["Tokens to providers that retain prompts", "Tokens to providers that may train on them",
                    "Tokens processed outside the EU (or anywhere)", "Tokens with unknown policy"],
    "lock_in": ["Apps on one vendor (last month)", "Median vendor HHI (last month)", "Tokens on single-provider models",
                "Requests with failover coverage"],
    "users": ["Daily active users (mean)", "Monthly active users (last day)", "New users", "Cost per active user-day"],
}
MIN_CHARTS = {"overview": 1, "tool_calling": 3, "reasoning": 2, "model_mix": 3, "providers": 6, "load": 3, "data_quality": 2, "sql": 1,
              "performance": 5, "data_policy": 2, "lock_in": 3, "users": 2, "alerts": 0}
FILTERED = ("overview", "tool_calling", "reasoning", "model_mix", "providers", "load", "performance", "data_policy", "lock_in", "users")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dash")
    db = root / "warehouse.duckdb"
    info = build_demo_warehouse(db, days=DAYS, requests_per_day=RPD, start=START)
    assert info["rows"] == DAYS * RPD and info["quarantined"] >= 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYLENS_DB", str(db))
        mp.delenv("GATEWAYLENS_SERVING", raising=False)
        yield {"db": db, **info}


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    if name != "overview":
        at.switch_page(f"views/{name}.py").run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning or all("Flagged" in w.value for w in at.warning), [w.value for w in at.warning]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_its_metrics_charts_and_downloads(warehouse, name: str) -> None:
    at = page(name)
    assert_clean(at)
    values = metrics(at)
    for label in PAGES[name]:
        assert label in values, (label, values)
        assert values[label] not in ("", "n/a"), (label, values)
    figs = charts(at)
    assert len(figs) >= MIN_CHARTS[name]
    assert all(f["layout"]["title"]["text"] for f in figs)
    assert sum(len(t.get("x", []) or t.get("y", []) or []) for f in figs for t in f["data"]) > 0
    assert len(at.get("download_button")) >= (MIN_CHARTS[name] if name != "data_quality" else 3)
    if name in FILTERED:
        for key in ("filters.period", "filters.models", "filters.providers", "filters.apps", "filters.teams",
                    "filters.tags", "filters.grain"):
            assert any(getattr(w, "key", None) == key for w in at.sidebar.get(_kind(key))), key


def _kind(key: str) -> str:
    return {"filters.period": "date_input", "filters.grain": "button_group"}.get(key, "multiselect")


def test_overview_numbers_match_the_marts_and_deltas_compare_equal_periods(warehouse) -> None:
    at = page("overview")
    period = (START + dt.timedelta(days=21), START + dt.timedelta(days=DAYS - 1))  # 21 days, previous 21 days exist
    at.sidebar.date_input(key="filters.period").set_value(period).run()
    assert_clean(at)
    con = duckdb.connect(str(warehouse["db"]), read_only=True)

    def req(a: dt.date, b: dt.date) -> int:
        return con.execute("SELECT count(*) FROM requests WHERE day BETWEEN ? AND ?", [a, b]).fetchall()[0][0]

    cur, prev = req(*period), req(START, START + dt.timedelta(days=20))
    con.close()
    m = {x.label: x for x in at.metric}
    assert m["Requests"].value == f"{cur / 1000:,.2f}k"
    assert m["Requests"].delta == f"{(cur - prev) / prev:+.1%}"
    assert m["Tool-call rate"].delta.endswith(" pp")


@pytest.mark.parametrize(
    "name,widget,label",
    [
        ("overview", "filters.models", "Requests"),
        ("tool_calling", "filters.apps", "Tool-call requests"),
        ("reasoning", "filters.providers", "Reasoning tokens"),
        ("providers", "filters.providers", "Providers"),
        ("data_quality", None, "Files ingested"),
        ("data_policy", "filters.apps", "Tokens processed outside the EU (or anywhere)"),
        ("lock_in", "filters.apps", "Requests with failover coverage"),
        ("users", "filters.apps", "Daily active users (mean)"),
        ("performance", "filters.providers", "Cache hit rate"),
    ],
)
def test_changing_a_filter_changes_the_numbers(warehouse, name: str, widget: str | None, label: str) -> None:
    at = page(name)
    before = metrics(at)[label]
    if widget is None:  # data quality is not filtered: prove it stays put while the others move
        at.switch_page("views/overview.py").run()
        at.sidebar.multiselect(key="filters.models").set_value(at.sidebar.multiselect(key="filters.models").options[:1]).run()
        at.switch_page("views/data_quality.py").run()
        assert metrics(at)[label] == before
        return
    ms = at.sidebar.multiselect(key=widget)
    choice = ms.options[:1] if name != "providers" else [p for p in ms.options if "vertex" in p or "bedrock" in p][:1] or ms.options[:1]
    ms.set_value(choice).run()
    assert_clean(at)
    assert metrics(at)[label] != before


@pytest.mark.parametrize("name", ["model_mix", "load"])
def test_filter_changes_the_charts_of_pages_without_kpis(warehouse, name: str) -> None:
    at = page(name)
    before = [f["data"] for f in charts(at)]
    at.sidebar.multiselect(key="filters.apps").set_value(at.sidebar.multiselect(key="filters.apps").options[:1]).run()
    assert_clean(at)
    after = [f["data"] for f in charts(at)]
    assert after != before


def test_filters_persist_across_pages(warehouse) -> None:
    at = page("overview")
    model = at.sidebar.multiselect(key="filters.models").options[0]
    at.sidebar.multiselect(key="filters.models").set_value([model]).run()
    at.switch_page("views/sql.py").run()  # a page without filters
    at.switch_page("views/tool_calling.py").run()
    assert at.sidebar.multiselect(key="filters.models").value == [model]
    legend = {t["name"] for t in charts(at)[0]["data"]}
    assert legend == {model}


def test_time_grain_toggle_changes_the_number_of_points(warehouse) -> None:
    at = page("overview")
    points = {}
    for grain in ("day", "week", "month"):
        at.sidebar.button_group(key="filters.grain").set_value(grain).run()
        assert_clean(at)
        points[grain] = len(charts(at)[0]["data"][0]["x"])
    assert points["day"] > points["week"] > points["month"] >= 1


def test_injection_through_the_filters_matches_nothing(warehouse) -> None:
    """A model named like an injection is a bound value: it matches no row and breaks nothing."""
    evil = "x' OR 1=1 --"
    f = Filters(START, START + dt.timedelta(days=DAYS - 1), models=(evil,))
    sql = f"SELECT count(*) AS n, coalesce(sum(requests), 0) AS requests FROM tool_call_rate_daily WHERE {f.where()}"
    assert data.query(sql, f.params()).row(0) == (0, 0)
    everything = Filters(START, START + dt.timedelta(days=DAYS - 1))
    assert data.query(sql, everything.params()).row(0)[1] == DAYS * RPD
    # The app itself: a value that is not an option never reaches the query; the table survives.
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["filters.models"] = [evil]
    at.run()
    assert not at.exception
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    assert con.execute("SELECT count(*) FROM requests").fetchall()[0][0] == DAYS * RPD
    con.close()


def _scope(warehouse) -> tuple[str, list[str], str, list[str]]:
    """A team with several apps and a tag of some apps only, with the apps that logged each."""
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    team, team_apps = con.sql("SELECT team, list(DISTINCT app ORDER BY app) AS apps FROM requests WHERE team IS NOT NULL "
                              "GROUP BY team ORDER BY len(apps) DESC, team LIMIT 1").fetchall()[0]
    tag_apps = con.sql("SELECT list(DISTINCT app ORDER BY app) FROM requests WHERE list_contains(tags, 'batch')").fetchall()[0][0]
    con.close()
    assert len(team_apps) >= 2 and tag_apps
    return team, team_apps, "batch", tag_apps


@pytest.mark.parametrize("name", ["overview", "tool_calling", "users", "lock_in", "performance"])
def test_team_and_tag_filters_keep_the_apps_that_logged_them(warehouse, name: str) -> None:
    """In generated traffic a team is a set of apps (a LiteLLM key's team) and the batch tag marks the
    batch apps: selecting the team (tag) shows exactly what selecting its apps shows, and moves the page."""
    team, team_apps, tag, tag_apps = _scope(warehouse)
    base = page(name)
    for widget, value, apps in (("filters.teams", [team], team_apps), ("filters.tags", [tag], tag_apps)):
        scoped = page(name)
        scoped.sidebar.multiselect(key=widget).set_value(value).run()
        assert_clean(scoped)
        by_apps = page(name)
        by_apps.sidebar.multiselect(key="filters.apps").set_value(apps).run()
        assert metrics(scoped) == metrics(by_apps) and charts(scoped) == charts(by_apps), (name, widget)
        assert (metrics(scoped), charts(scoped)) != (metrics(base), charts(base)), (name, widget)
        coverage = [c.value for c in scoped.sidebar.caption if c.value.startswith("Teams/tags keep")]
        assert coverage == [f"Teams/tags keep {len(apps)} apps (whole apps: charts are per app); 100% of their "
                            "requests in the period carry the selection."], coverage


def test_team_filter_values_are_bound_never_sql(warehouse) -> None:
    evil = "x' OR 1=1 --"
    sql = "SELECT coalesce(sum(requests), 0) FROM tool_call_rate_daily WHERE {}"
    for f in (Filters(START, START + dt.timedelta(days=DAYS - 1), teams=(evil,)),
              Filters(START, START + dt.timedelta(days=DAYS - 1), tags=(evil,))):
        assert data.query(sql.format(f.where()), f.params()).row(0) == (0,)
    plain = Filters(START, START + dt.timedelta(days=DAYS - 1))
    assert "app_dimensions_daily" not in plain.where() and "teams" not in plain.params()
    assert Filters(START, START, teams=("t",)).ignored(("model", "provider")) == ["team"]


def test_providers_page_shows_flags_pool_and_uptime(warehouse) -> None:
    at = page("providers")
    models = at.selectbox(key="providers.model").options
    assert models
    seen_pool = False
    for model in models:
        at.selectbox(key="providers.model").set_value(model).run()
        assert_clean(at)
        figs = charts(at)
        titles = [f["layout"]["title"]["text"] for f in figs]
        assert any("95% CI" in t for t in titles) and any("uptime" in t.lower() for t in titles)
        assert any("Failovers" in t for t in titles)
        ci = figs[0]["data"]
        assert all("error_y" in t for t in ci)
        seen_pool |= not metrics(at)["Recommended pool"].startswith("0 of")
        assert any("Recommended pool" in m.value for m in at.markdown)
    assert seen_pool


def test_providers_uptime_and_failovers_come_from_the_metrics_layer(warehouse) -> None:
    """The Providers page draws uptime and failovers through gatewaylens.metrics (no ratio written in the
    view), and what it draws equals an independent polars roll-up of the marts' additive columns."""
    import polars as pl

    source = (ROOT / "dashboards" / "views" / "providers.py").read_text()
    assert not any(ratio in source for ratio in ("/ sum(", "1 - sum(", "/ nullif(")), "a ratio written in the view"
    assert 'metric_sql(["attempt_success_rate' in source
    at = page("providers")
    for grain, mart in (("day", "provider_uptime_daily"), ("hour", "provider_uptime_hourly")):
        at.button_group(key="providers.uptime_grain").set_value(grain).run()
        assert_clean(at)
        heat = next(f for f in charts(at) if "uptime" in f["layout"]["title"]["text"].lower())["data"][0]
        con = duckdb.connect(str(warehouse["db"]), read_only=True)
        rows = con.sql(f"SELECT * FROM {mart}").pl()
        con.close()
        period = "day" if grain == "day" else "hour"
        exp = (rows.group_by(period, "provider").agg(pl.col("attempts").sum(), pl.col("failed_attempts").sum())
               .with_columns(rate=1 - pl.col("failed_attempts") / pl.col("attempts")))
        z_rows = _array(heat["z"])
        got = {(p, x[:10] if grain == "day" else x[:13]): z for p, zs in zip(heat["y"], z_rows, strict=True)
               for x, z in zip(heat["x"], zs, strict=True) if z is not None}
        want = {(r["provider"], str(r[period])[:10] if grain == "day" else str(r[period])[:13].replace(" ", "T")): r["rate"]
                for r in exp.iter_rows(named=True)}
        got = {k: v for k, v in got.items() if v == v}  # NaN = no attempts in that cell
        assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-12 for k in want), grain
        assert min(want.values()) < 1.0  # the outage is there: not a vacuous all-green map
    fo = next(f for f in charts(at) if f["layout"]["title"]["text"].startswith("Failovers"))["data"]
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    total, attempts = con.sql("SELECT sum(failovers_out), sum(attempts) FROM provider_uptime_daily").fetchall()[0]
    con.close()
    assert sum(sum(_array(t["y"])) for t in fo) == total > 0
    assert all("of its attempts" in t["hovertemplate"] and len(_array(t["customdata"])) for t in fo)


def _array(value):
    """A Plotly JSON array: a list, or plotly's typed-array encoding {dtype, bdata, shape}."""
    if not isinstance(value, dict):
        return value
    import base64

    import numpy as np

    a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    if "shape" in value:
        a = a.reshape([int(x) for x in str(value["shape"]).split(",")])
    return a.tolist()


def test_model_mix_substitutions_and_reconciliation_through_the_metrics_layer(warehouse) -> None:
    """Requested vs served: the page's substitution rate and pairs equal a count over requests (the
    generator's model fallbacks); billed vs list: the ratio per model x provider is logged / estimated."""
    at = page("model_mix")
    assert_clean(at)
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    n, subs = con.sql("SELECT count(model_requested), count(*) FILTER (WHERE model_requested <> model) FROM requests").fetchall()[0]
    pairs = con.sql("SELECT model_requested, model, count(*) FROM requests WHERE model_requested <> model "
                    "GROUP BY ALL ORDER BY ALL").fetchall()
    rec = dict(((m, p), lg / est) for m, p, lg, est in con.sql(
        "SELECT model, provider, sum(logged_usd), sum(estimated_usd) FROM cost_reconciliation_daily GROUP BY ALL").fetchall())
    con.close()
    assert subs > 0
    caption = [c.value for c in at.caption if "were served by another one" in c.value]
    assert caption == [f"{subs / n:.1%} of the {n:,} requests that say which model they asked for were served by another one "
                       "(model fallbacks, router aliases)."], caption
    figs = {f["layout"]["title"]["text"]: f for f in charts(at)}
    bars = next(f for t, f in figs.items() if "asked" in t.lower() or "requested" in t.lower())["data"][0]
    got = sorted((label.split(" → ")[0], label.split(" → ")[1], int(x)) for label, x in zip(bars["y"], _array(bars["x"]), strict=True))
    assert got == sorted(pairs)
    ratio = next(f for t, f in figs.items() if "list price" in t.lower())["data"][0]
    assert len(_array(ratio["x"])) == len(rec) and all(0 < x < 10 for x in _array(ratio["x"]))


def test_sql_console_refuses_writes_and_runs_reads(warehouse) -> None:
    at = page("sql")
    assert_clean(at)
    assert at.dataframe, "the default query shows a result table"
    at.text_area(key="sql.text").set_value("DROP TABLE requests")  # form widgets commit on submit
    _submit(at)
    assert any("Refused" in e.value and "DROP" in e.value for e in at.error)
    at.text_area(key="sql.text").set_value("SELECT * FROM read_csv('/etc/passwd')")
    _submit(at)
    assert any("read_csv" in e.value.replace("\\", "") for e in at.error)  # md() escapes punctuation
    at.text_area(key="sql.text").set_value("SELECT day, sum(requests) AS requests FROM tool_call_rate_daily GROUP BY day ORDER BY day")
    at.number_input(key="sql.limit").set_value(10)
    _submit(at)
    assert not at.error
    assert any("truncated" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert len(table) == 10


def _submit(at: AppTest) -> None:
    for b in at.button:
        if b.label == "Run":
            b.click().run()
            return
    raise AssertionError("no Run button")


def _schema_frame(at: AppTest):
    frames = [d.value for d in at.dataframe if list(d.value.columns) == ["column", "type", "description"]]
    assert len(frames) == 1
    return frames[0]


def test_schema_browser_lists_tables_with_dictionary_text(warehouse) -> None:
    at = page("sql")
    pick = at.selectbox(key="sql.table_pick")
    for table in ("requests", "tool_call_rate_daily", "provider_variance", "quarantine", "v_adoption_monthly"):
        assert any(o.startswith(f"{table} · ") for o in pick.options), table
    pick.set_value("requests").run()
    described = _schema_frame(at)
    assert "request_id" in described["column"].to_list()
    assert (described["description"].str.len() > 0).all()
    at.selectbox(key="sql.table_pick").set_value("tool_call_rate_daily").run()
    described = _schema_frame(at)
    rate = described[described["column"] == "tool_call_rate"]["description"].iloc[0]
    assert "tool_call_requests" in rate


# ------------------------------------------------------------------ missing / partial data


ALL_PAGES = list(PAGES)


@pytest.mark.parametrize("name", ALL_PAGES)
def test_missing_database_is_a_friendly_state_on_every_page(env, name: str) -> None:
    at = page(name)
    assert not at.exception
    assert any("No data yet" in i.value and "make demo" in i.value for i in at.info)


def test_database_without_marts_and_with_a_missing_mart(env, tmp_path: Path) -> None:
    from gatewaylens import db as dbmod

    con = dbmod.connect(env["db"])  # base tables only
    con.close()
    for name in ALL_PAGES:
        at = page(name)
        assert not at.exception, name
        if name in ("data_quality", "sql"):
            assert not at.error, name
        else:
            assert any("No data yet" in i.value for i in at.info), name


def test_one_missing_mart_names_the_table(warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "partial.duckdb"
    copy.write_bytes(Path(warehouse["db"]).read_bytes())
    con = duckdb.connect(str(copy))
    con.execute("DROP TABLE cost_daily")
    con.close()
    monkeypatch.setenv("GATEWAYLENS_DB", str(copy))
    at = page("overview")
    assert not at.exception
    assert any("No data yet" in i.value and "cost_daily" in i.value for i in at.info)
    at.switch_page("views/tool_calling.py").run()  # does not need cost_daily
    assert_clean(at)
    assert "Tool-call rate" in metrics(at)


def test_reads_the_serving_snapshot_when_published(warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = tmp_path / "snap.serving.duckdb"
    snapshot.write_bytes(Path(warehouse["db"]).read_bytes())
    con = duckdb.connect(str(snapshot))
    con.execute("DELETE FROM tool_call_rate_daily WHERE day > ?", [START + dt.timedelta(days=9)])
    con.close()
    at = page("overview")
    full = metrics(at)["Requests"]
    monkeypatch.setenv("GATEWAYLENS_SERVING", str(snapshot))
    assert data.database_path() == snapshot
    at = page("overview")
    assert_clean(at)
    assert metrics(at)["Requests"] != full


def test_data_quality_files_table_shows_records_next_to_lines(warehouse) -> None:
    at = page("data_quality")
    assert_clean(at)
    files = next(df.value for df in at.dataframe if "path" in df.value.columns)
    assert list(files.columns[:3]) == ["path", "lines", "records"]
    assert (files["records"] == files["rows_inserted"] + files["duplicates"] + files["quarantined"] + files["merged"]).all()


def test_data_quality_lists_unrecognised_models_with_counts(warehouse, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from gatewaylens import db as dbmod
    from gatewaylens.ingest import ingest_file
    from tests.conftest import write_jsonl

    db = tmp_path / "copy.duckdb"
    shutil.copy(warehouse["db"], db)
    lines = [{"request_id": f"u-{i}", "ts": "2025-01-05T10:00:00Z", "model": "acme-finetune-v3" if i < 3 else "<b>x</b>",
              "input_tokens": 10, "output_tokens": 1} for i in range(4)]
    con = dbmod.connect(db)
    ingest_file(con, write_jsonl(tmp_path / "u.jsonl", lines), salt="s")
    con.close()
    monkeypatch.setenv("GATEWAYLENS_DB", str(db))
    at = page("data_quality")
    assert_clean(at)
    table = next(df.value for df in at.dataframe if "model_id" in df.value.columns)
    assert list(zip(table["model_id"], table["requests"])) == [("acme-finetune-v3", 3), ("<b>x</b>", 1)]
    assert not any("<b>x</b>" in m.value for m in at.markdown), "names from the data are shown as text"
