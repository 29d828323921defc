"""provider_regressions, usage_anomalies_daily and spend_forecast against truth.json's injected
events, on generated traffic ingested and built for real; then alerts from those marts, the
Dagster `alerts` asset + warning check and the delivery sensor against a local webhook."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest

from gatewaylens import alerts as alerts_lib
from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths
from gatewaylens.regressions import distinct_changes, score_against_truth, scored_pair_metric_days
from tests.fixtures.sinks import start_http

START = dt.date(2025, 1, 6)
DAYS, RPD, SEED = 120, 1200, 3
ONSET_TOLERANCE = 7
MARTS = ["cost_daily", "provider_metrics_daily", "provider_regressions", "usage_anomalies_daily", "spend_forecast"]
BUDGET_APP = "code-assistant"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("regressions")
    res = generate(DAYS, RPD, SEED, root / "landing", start=START)
    truth = json.loads(res.truth_path.read_text())
    path = root / "w.duckdb"
    con = dbmod.connect(path)
    ingest_paths(con, [root / "landing"], salt="s")
    days = marts.days_with_requests(con)
    # a budget at 60% of the app's spend in the last full month: it runs out in the next one
    budgets = root / "budgets.csv"
    mp = pytest.MonkeyPatch()
    for name in MARTS[:2]:
        marts.build_mart(con, name, days[0], days[-1])
    march = con.sql(f"SELECT sum(cost_usd) FROM cost_daily WHERE app = '{BUDGET_APP}' AND day BETWEEN '2025-03-01' AND '2025-03-31'").fetchall()[0][0]
    budgets.write_text(f"app,monthly_usd\n{BUDGET_APP},{0.6 * march:.2f}\n")
    mp.setenv("GATEWAYLENS_BUDGETS", str(budgets))
    for name in MARTS[2:]:
        marts.build_mart(con, name, days[0], days[-1])
    yield con, truth, path, days
    mp.undo()
    con.close()


def changes(con) -> pl.DataFrame:
    """Every distinct change, with its state on the last as-of day it is listed."""
    return con.sql("""
        SELECT * FROM provider_regressions
        QUALIFY row_number() OVER (PARTITION BY model, provider, metric, onset_day ORDER BY day DESC) = 1
    """).pl()


def test_provider_events_found_with_onset_and_attribution(built) -> None:
    con, truth, _, _ = built
    found = changes(con)
    events = [e for e in truth["regression_events"] if e["attribution"] == "provider"]
    assert len(events) == 3  # one two-provider model, and two providers of one model weeks apart
    for e in events:
        onset = dt.date.fromisoformat(e["onset_day"])
        hits = found.filter(
            pl.col("model") == e["model"], pl.col("provider").is_in(e["providers"]), pl.col("metric").is_in(e["metrics"]),
            (pl.col("onset_day") - onset).dt.total_days().abs() <= ONSET_TOLERANCE,
        )
        assert hits.height >= 1, e["name"]
        assert set(hits["attribution"]) == {"provider"}, (e["name"], hits.select("metric", "attribution").to_dicts())
        assert (hits["p_value"] < 0.01).all() and hits["worse"].all()
        assert (hits["detected_day"] >= hits["onset_day"]).all()
        # the healthy providers of the model are not blamed around that onset
        others = found.filter(
            pl.col("model") == e["model"], ~pl.col("provider").is_in(e["providers"]), pl.col("metric").is_in(e["metrics"]),
            (pl.col("onset_day") - onset).dt.total_days().abs() <= ONSET_TOLERANCE,
        )
        assert others.is_empty(), others.select("provider", "metric", "onset_day").to_dicts()


def test_model_wide_change_attributed_to_the_model(built) -> None:
    con, truth, _, _ = built
    found = changes(con)
    (e,) = [e for e in truth["regression_events"] if e["attribution"] == "model"]
    onset = dt.date.fromisoformat(e["onset_day"])
    hits = found.filter(
        pl.col("model") == e["model"], pl.col("metric") == "output_tokens_per_request",
        (pl.col("onset_day") - onset).dt.total_days().abs() <= ONSET_TOLERANCE,
    )
    assert hits["provider"].n_unique() >= len(e["providers"]) // 2, hits.to_dicts()
    assert "model" in set(hits["attribution"])
    assert "provider" not in set(hits["attribution"])


def test_detection_scores_against_the_injected_events(built) -> None:
    """The figures benchmarks/detection.py reports over five seeds, on this one: precision and
    recall against truth.json's events, onset error, and the changes that match no event per
    1,000 scored pair-metric-days (an upper bound on false alarms: some are real, uninjected
    changes such as a model launch moving a model's mix). Bounds sit below the 5-seed figures
    in docs/benchmarks.md; session 3's detector (own history only) fails them on this data
(precision 0.18, attribution right for 0.78, 2.3 unmatched per 1,000: measured). The
    stated false-alarm rate itself is checked on unchanged synthetic groups
    (tests/test_changepoints.py) and measured on clean generated traffic by the benchmark."""
    con, truth, _, _ = built
    s = score_against_truth(distinct_changes(con), truth["regression_events"], ONSET_TOLERANCE)
    tested = scored_pair_metric_days(con)
    unmatched = s["changes"] - s["true_positives"]
    print(f"precision {s['precision']:.2f} recall pair-metric {s['recall_pair_metric']:.2f} pair {s['recall_pair']:.2f} "
          f"onset error {s['onset_error_days_mean']:.1f} d, unmatched {unmatched} = {1000 * unmatched / tested:.2f} "
          f"per 1,000 of {tested} pair-metric-days; by attribution {s['by_attribution']} unmatched {s['false_by_attribution']}")
    assert s["precision"] >= 0.35
    assert s["recall_pair"] >= 0.7 and s["recall_pair_metric"] >= 0.45
    assert s["onset_error_days_mean"] <= 2.0 and s["attribution_correct"] >= 0.9
    assert 1000 * unmatched / tested <= 1.5
    # most provider-attributed changes are injected provider events (the peers remove model-wide moves)
    provider = s["by_attribution"].get("provider", 0)
    assert provider >= 3 and s["false_by_attribution"].get("provider", 0) <= provider / 2


def test_rows_are_consistent_and_recomputable(built) -> None:
    con, _, _, days = built
    rows = con.sql("SELECT * FROM provider_regressions").pl()
    assert rows.height > 0
    assert (rows["baseline_low"] <= rows["baseline_value"]).all() and (rows["baseline_value"] <= rows["baseline_high"]).all()
    assert (rows["day"] >= rows["detected_day"]).all()
    assert ((rows["status"] == "resolved") == rows["resolved_day"].is_not_null()).all()
    assert (rows.filter(pl.col("status") == "resolved")["resolved_day"] <= rows.filter(pl.col("status") == "resolved")["day"]).all()
    assert ((rows["delta"] - (rows["current_value"] - rows["baseline_value"])).abs() < 1e-9).all()
    # baseline_value of an error-rate change = errors / requests over the 28 days before the onset, from requests
    r = rows.filter(pl.col("metric") == "error_rate").row(0, named=True)
    got = con.sql(
        "SELECT count(*) FILTER (WHERE status = 'error') / count(*) FROM requests "
        "WHERE model = $m AND provider = $p AND day BETWEEN $a AND $b",
        params={"m": r["model"], "p": r["provider"], "a": r["onset_day"] - dt.timedelta(days=28),
                "b": r["onset_day"] - dt.timedelta(days=1)},
    ).fetchall()[0][0]
    assert abs(got - r["baseline_value"]) < 1e-9
    # provider_metrics_daily error_rate against polars over the same requests
    req = con.sql("SELECT day, model, provider, status FROM requests").pl()
    mine = req.group_by("day", "model", "provider").agg((pl.col("status") == "error").mean().alias("e"))
    theirs = con.sql("SELECT day, model, provider, error_rate FROM provider_metrics_daily").pl()
    joined = mine.join(theirs, on=["day", "model", "provider"])
    assert joined.height == theirs.height and ((joined["e"] - joined["error_rate"]).abs() < 1e-12).all()
    # a nightly build of the last day alone gives that day's snapshot again
    last = days[-1]
    before = con.sql(f"SELECT * FROM provider_regressions WHERE day = DATE '{last}' ORDER BY ALL").pl()
    marts.build_mart(con, "provider_regressions", last, last)
    after = con.sql(f"SELECT * FROM provider_regressions WHERE day = DATE '{last}' ORDER BY ALL").pl()
    assert before.select("model", "provider", "metric", "onset_day", "status").equals(
        after.select("model", "provider", "metric", "onset_day", "status"))


def test_traffic_spike_is_an_anomaly_and_quiet_days_are_not(built) -> None:
    con, truth, _, _ = built
    (spike,) = truth["traffic_spikes"]
    first = dt.date.fromisoformat(spike["start_day"])
    row = con.sql(
        "SELECT anomaly, score, value, expected_high FROM usage_anomalies_daily "
        "WHERE dimension = 'app' AND subject = $a AND metric = 'requests' AND day = $d",
        params={"a": spike["app"], "d": first},
    ).fetchall()
    assert row and row[0][0] is True and row[0][1] > 0 and row[0][2] > row[0][3]
    spike_end = dt.date.fromisoformat(spike["end_day"])
    rate = con.sql(
        "SELECT avg(anomaly::INT) FROM usage_anomalies_daily WHERE dimension = 'app' AND anomaly IS NOT NULL "
        "AND NOT (day BETWEEN $a AND $b + 1)", params={"a": first, "b": spike_end},
    ).fetchall()[0][0]
    assert rate < 0.01
    # expected interval holds the value on most days
    cover = con.sql("SELECT avg((value BETWEEN expected_low AND expected_high)::INT) FROM usage_anomalies_daily "
                    "WHERE expected IS NOT NULL AND dimension = 'app' AND metric = 'requests'").fetchall()[0][0]
    assert cover > 0.85


def test_spend_forecast_month_to_date_interval_and_budget(built) -> None:
    con, _, _, days = built
    mtd = con.sql("""
        SELECT s.day, s.app, s.month_to_date_usd, (SELECT coalesce(sum(cost_usd), 0) FROM cost_daily c
            WHERE c.app = s.app AND c.day BETWEEN date_trunc('month', s.day) AND s.day) AS recomputed
        FROM spend_forecast s WHERE s.day IN ('2025-02-10', '2025-04-30')""").fetchall()
    assert mtd and all(abs(a - b) < 1e-6 for *_, a, b in mtd)
    # forecasts made on the 15th of complete months against the months' real totals
    cover = con.sql("""
        SELECT avg((t.total BETWEEN s.forecast_low_usd AND s.forecast_high_usd)::INT), count(*)
        FROM spend_forecast s
        JOIN (SELECT app, date_trunc('month', day) AS m, sum(cost_usd) AS total FROM cost_daily GROUP BY ALL) t
          ON t.app = s.app AND t.m = s.month
        WHERE day(s.day) = 15 AND s.month IN ('2025-02-01', '2025-03-01', '2025-04-01')""").fetchall()[0]
    assert cover[1] >= 18 and cover[0] >= 0.7, cover
    april = con.sql(
        "SELECT budget_usd, budget_runout_day, budget_used_share FROM spend_forecast WHERE app = $a AND day = '2025-04-10'",
        params={"a": BUDGET_APP}).fetchall()[0]
    assert april[0] > 0 and april[1] is not None and dt.date(2025, 4, 10) < april[1] <= dt.date(2025, 4, 30)
    none = con.sql("SELECT count(*) FROM spend_forecast WHERE app <> $a AND (budget_usd IS NOT NULL OR budget_runout_day IS NOT NULL)",
                   params={"a": BUDGET_APP}).fetchall()[0][0]
    assert none == 0


def test_alerts_from_marts_asset_check_and_sensor(built, monkeypatch, tmp_path) -> None:
    con, _, path, _ = built
    first = alerts_lib.evaluate(con, now=dt.datetime(2025, 5, 6, tzinfo=dt.timezone.utc))
    kinds = {r[0] for r in con.sql("SELECT DISTINCT kind FROM alerts").fetchall()}
    assert {"provider_regression"} <= kinds and first.opened
    again = alerts_lib.evaluate(con, now=dt.datetime(2025, 5, 7, tzinfo=dt.timezone.utc))
    assert not again.opened and not again.resolved and not again.reopened
    listed = alerts_lib.list_alerts(con, include_resolved=False)
    assert len(listed) == len(first.opened) and all(json.loads(r["evidence"]) if isinstance(r["evidence"], str) else r["evidence"] for r in listed)

    # Dagster: the asset, its warning check and the sensor, on the same warehouse
    from pipelines.defs import alerts as alert_defs
    from pipelines.defs.resources import Warehouse

    url, rec, stop = start_http()
    try:
        monkeypatch.setenv("GATEWAYLENS_DB", str(path))
        monkeypatch.setenv("GATEWAYLENS_ALERT_WEBHOOKS", url)
        monkeypatch.setenv("GATEWAYLENS_ALERT_BACKOFF_S", "0")
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize([alert_defs.alerts, alert_defs.alerts_delivered], resources={"duckdb": Warehouse(database=str(path))},
                                instance=instance)
        assert result.success
        (check,) = result.get_asset_check_evaluations()
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN  # nothing delivered yet
        rec.fail_next = 10  # the sink is down: the sensor does not raise, the check warns
        ctx = dg.build_run_status_sensor_context(
            sensor_name="alert_delivery_sensor", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_success_event())
        alert_defs.alert_delivery_sensor(ctx)
        assert rec.received == []
        rec.fail_next = 0
        alert_defs.alert_delivery_sensor(ctx)
        alert_defs.alert_delivery_sensor(ctx)  # a second run sends nothing more
        assert len(rec.received) == 1
        assert {a["alert_id"] for a in rec.received[0]["body"]["alerts"]} == set(first.opened)
        rerun = dg.materialize([alert_defs.alerts, alert_defs.alerts_delivered], resources={"duckdb": Warehouse(database=str(path))},
                               instance=instance)
        assert rerun.get_asset_check_evaluations()[0].passed
    finally:
        stop()


def test_overview_and_reasoning_curves_carry_change_markers(built, tmp_path, monkeypatch) -> None:
    """Change-point markers on the adoption curves (Overview) and the reasoning share (Reasoning):
    one per distinct change of the page's metrics in the period, hover text naming the change, the
    names as data (escaped by ui.chart), on a copy of the warehouse with one known change each."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    con, _, path, days = built
    con.execute("CHECKPOINT")
    copy = tmp_path / "w.duckdb"
    shutil.copy(path, copy)
    c2 = dbmod.connect(copy)
    for name in ("tool_call_rate_daily", "reasoning_share_daily"):
        marts.build_mart(c2, name, days[0], days[-1])
    c2.execute("DELETE FROM provider_regressions WHERE metric IN ('tool_call_rate', 'reasoning_share')")
    evil = "<b>vendor</b>"
    for metric, onset in (("tool_call_rate", dt.date(2025, 2, 10)), ("reasoning_share", dt.date(2025, 3, 17))):
        c2.execute(
            "INSERT INTO provider_regressions BY NAME SELECT $d AS day, 'openai/gpt-5-mini' AS model, $p AS provider, "
            "$m AS metric, $o AS onset_day, $o + 3 AS detected_day, 'up' AS direction, 'provider' AS attribution, "
            "'open' AS status", {"d": onset + dt.timedelta(days=5), "p": evil, "m": metric, "o": onset})
    c2.close()
    monkeypatch.setenv("GATEWAYLENS_DB", str(copy))
    monkeypatch.delenv("GATEWAYLENS_SERVING", raising=False)
    at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=90).run()
    expected = {"overview": ["tool_call_rate", "reasoning_share"], "reasoning": ["reasoning_share"]}
    for page, metrics in expected.items():
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        (marks,) = [t for f in figs for t in f["data"] if t.get("name") == "change onset"] or [None]
        assert marks is not None, page
        assert len(marks["x"]) == len(metrics) and all(m in " ".join(marks["text"]) for m in metrics), marks["text"]
        assert all("<b>" not in t and "&lt;b&gt;vendor" in t for t in marks["text"]), marks["text"]
