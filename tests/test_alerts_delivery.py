"""Alert life cycle and delivery against a local HTTP server and a local SMTP server (127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gatewaylens import alerts, db as dbmod, delivery
from tests.fixtures.sinks import start_http, start_smtp

T0 = dt.datetime(2026, 1, 10, 3, 0, tzinfo=dt.timezone.utc)


def cand(key: str, severity: str = "warning", value: float = 1.0) -> alerts.Candidate:
    return alerts.Candidate("usage_anomaly", key, f"app {key}", severity, f"{key} is odd ({value})", {"value": value}, "alerts")


def events(con) -> list[tuple]:
    return con.execute("SELECT alert_id, seq, event FROM alert_events ORDER BY event_at, alert_id, seq").fetchall()


@pytest.fixture
def con(tmp_path):
    c = dbmod.connect(tmp_path / "w.duckdb")
    yield c
    c.close()


def test_life_cycle_open_update_resolve_reopen(con) -> None:
    kinds = ("usage_anomaly",)
    r1 = alerts.sync_alerts(con, [cand("a"), cand("b")], kinds, now=T0)
    assert len(r1.opened) == 2 and not r1.updated
    aid = alerts.alert_id("usage_anomaly", "a")
    assert aid in r1.opened
    # the same conditions again: nothing new, last_seen_at moves, the evidence follows
    r2 = alerts.sync_alerts(con, [cand("a", value=2.0), cand("b")], kinds, now=T0 + dt.timedelta(days=1))
    assert sorted(r2.updated) == sorted(r1.opened) and not (r2.opened or r2.resolved)
    row = con.execute("SELECT opened_at, last_seen_at, resolved_at, evidence->>'value' FROM alerts WHERE alert_id = ?", [aid]).fetchall()[0]
    assert row[0] == T0 and row[1] == T0 + dt.timedelta(days=1) and row[2] is None and float(row[3]) == 2.0
    # a no longer holds: resolved once
    r3 = alerts.sync_alerts(con, [cand("b")], kinds, now=T0 + dt.timedelta(days=2))
    assert r3.resolved == [aid]
    r3b = alerts.sync_alerts(con, [cand("b")], kinds, now=T0 + dt.timedelta(days=3))
    assert not r3b.resolved
    # relapse: the same id reopens
    r4 = alerts.sync_alerts(con, [cand("a"), cand("b")], kinds, now=T0 + dt.timedelta(days=4))
    assert r4.reopened == [aid]
    assert con.execute("SELECT reopened_count, resolved_at FROM alerts WHERE alert_id = ?", [aid]).fetchall() == [(1, None)]
    assert [e[2] for e in events(con) if e[0] == aid] == ["opened", "resolved", "reopened"]
    # kinds not evaluated are left alone
    alerts.sync_alerts(con, [], ("budget_runway",), now=T0 + dt.timedelta(days=5))
    assert con.execute("SELECT count(*) FROM alerts WHERE resolved_at IS NULL").fetchall()[0][0] == 2


def test_webhook_sent_once_retried_and_never_twice(con) -> None:
    url, rec, stop = start_http()
    try:
        sink = delivery.WebhookSink(url, timeout=5)
        sleeps: list[float] = []
        alerts.sync_alerts(con, [cand("a"), cand("b")], ("usage_anomaly",), now=T0)
        rec.fail_next = 2  # the first two attempts get 503: retried with backoff, then delivered
        rep = delivery.send_pending(con, [sink], retries=3, backoff=0.01, sleep=sleeps.append)
        assert rep.ok and rep.sent == 2 and rep.sinks[0].attempts == 3
        assert sleeps == [0.01, 0.02]
        assert len(rec.received) == 1
        body = rec.received[0]["body"]
        assert isinstance(body["text"], str) and body["text"]
        assert sorted(a["event"] for a in body["alerts"]) == ["opened", "opened"]
        assert rec.received[0]["key"]
        # a second send (a restart, a second run) sends nothing
        rep2 = delivery.send_pending(con, [sink], retries=3, backoff=0.01, sleep=sleeps.append)
        assert rep2.sent == 0 and len(rec.received) == 1
        # the next state change goes out once
        alerts.sync_alerts(con, [cand("b")], ("usage_anomaly",), now=T0 + dt.timedelta(days=1))
        delivery.send_pending(con, [sink], retries=1, sleep=sleeps.append)
        delivery.send_pending(con, [sink], retries=1, sleep=sleeps.append)
        assert len(rec.received) == 2
        assert [a["event"] for a in rec.received[1]["body"]["alerts"]] == ["resolved"]
        # the warehouse never holds the URL (it is a secret)
        assert not con.execute("SELECT count(*) FROM alert_deliveries WHERE sink LIKE ?", [f"%{url}%"]).fetchall()[0][0]
    finally:
        stop()


def test_sink_down_is_reported_not_raised_and_delivered_later(con) -> None:
    url, rec, stop = start_http()
    try:
        sink = delivery.WebhookSink(url, timeout=5)
        alerts.sync_alerts(con, [cand("a")], ("usage_anomaly",), now=T0)
        assert delivery.delivery_status(con, [sink.id])[0]["undelivered"] == 1  # never tried counts too
        rec.fail_next = 5
        rep = delivery.send_pending(con, [sink], retries=2, backoff=0.0, sleep=lambda s: None)
        assert not rep.ok and rep.sinks[0].failed == 1 and "503" in rep.sinks[0].error
        status = delivery.delivery_status(con, [sink.id])
        assert status[0]["undelivered"] == 1 and "503" in status[0]["last_error"]
        first_key = con.execute("SELECT delivery_key FROM alert_deliveries").fetchall()[0][0]
        rec.fail_next = 0
        rep = delivery.send_pending(con, [sink], retries=2, backoff=0.0, sleep=lambda s: None)
        assert rep.ok and rep.sent == 1 and len(rec.received) == 1
        assert rec.received[0]["key"] == first_key  # same pending set -> same idempotency key
        assert delivery.delivery_status(con, [sink.id])[0]["undelivered"] == 0
    finally:
        stop()
    # nothing listens any more: connection refused is a report, not an exception
    alerts.sync_alerts(con, [], ("usage_anomaly",), now=T0 + dt.timedelta(days=1))
    rep = delivery.send_pending(con, [delivery.WebhookSink(url, timeout=2)], retries=1, sleep=lambda s: None)
    assert not rep.ok and rep.sinks[0].failed == 1


def test_smtp_sent_once_and_retried(con) -> None:
    port, rec, stop = start_smtp()
    try:
        sink = delivery.SmtpSink("127.0.0.1", port, "gl@localhost", ["team@localhost"], timeout=5)
        alerts.sync_alerts(con, [cand("a", severity="critical")], ("usage_anomaly",), now=T0)
        rec.fail_next = 1
        rep = delivery.send_pending(con, [sink], retries=3, backoff=0.0, sleep=lambda s: None)
        assert rep.ok and rep.sinks[0].attempts == 2
        assert len(rec.received) == 1
        msg = rec.received[0]
        assert msg["To"] == "team@localhost" and "[gatewaylens]" in msg["Subject"]
        assert "a is odd" in msg.get_payload() and msg["X-Idempotency-Key"]
        delivery.send_pending(con, [sink], retries=3, backoff=0.0, sleep=lambda s: None)
        assert len(rec.received) == 1
    finally:
        stop()


def test_sinks_from_settings(monkeypatch) -> None:
    monkeypatch.setenv("GATEWAYLENS_ALERT_WEBHOOKS", "http://127.0.0.1:9/a, http://127.0.0.1:9/b")
    monkeypatch.setenv("GATEWAYLENS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GATEWAYLENS_SMTP_PORT", "2525")
    monkeypatch.setenv("GATEWAYLENS_SMTP_TO", "x@localhost,y@localhost")
    sinks = delivery.sinks_from_settings()
    assert [type(s).__name__ for s in sinks] == ["WebhookSink", "WebhookSink", "SmtpSink"]
    assert sinks[2].port == 2525 and sinks[2].to == ["x@localhost", "y@localhost"]
    assert len({s.id for s in sinks}) == 3


def test_cli_alerts_list_and_send(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from gatewaylens.cli import app

    path = tmp_path / "w.duckdb"
    c = dbmod.connect(path)
    alerts.sync_alerts(c, [cand("a", severity="critical"), cand("[b](http://x)")], ("usage_anomaly",), now=T0)
    c.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--db", str(path), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    assert [r["severity"] for r in rows] == ["critical", "warning"]
    table = runner.invoke(app, ["alerts", "list", "--db", str(path)])
    assert table.exit_code == 0 and "[b]" in table.output  # text, not rich markup (unescaped, [b] would vanish)
    url, rec, stop = start_http()
    try:
        monkeypatch.setenv("GATEWAYLENS_ALERT_WEBHOOKS", url)
        monkeypatch.setenv("GATEWAYLENS_ALERT_BACKOFF_S", "0")
        sent = runner.invoke(app, ["alerts", "send", "--no-evaluate", "--db", str(path)])
        assert sent.exit_code == 0, sent.output
        again = runner.invoke(app, ["alerts", "send", "--no-evaluate", "--db", str(path)])
        assert again.exit_code == 0 and len(rec.received) == 1 and len(rec.received[0]["body"]["alerts"]) == 2
        rec.fail_next = 10
        c = dbmod.connect(path)
        alerts.sync_alerts(c, [], ("usage_anomaly",), now=T0 + dt.timedelta(days=1))
        c.close()
        down = runner.invoke(app, ["alerts", "send", "--no-evaluate", "--strict", "--db", str(path)])
        assert down.exit_code == 1 and "warning" in down.output.lower()
    finally:
        stop()


def test_alert_links_encode_names_from_the_data() -> None:
    """A name with '&', '#' or '=' stays one query value of the alert's link (links go to webhooks)."""
    from urllib.parse import parse_qs, urlsplit

    import duckdb

    from gatewaylens.alerts import budget_candidates

    con = duckdb.connect()
    con.execute("""CREATE TABLE spend_forecast AS SELECT DATE '2026-03-10' AS day, 'a&b=c #d' AS app,
                   10.0 AS month_to_date_usd, 20.0 AS budget_usd, 30.0 AS forecast_usd, 25.0 AS forecast_low_usd,
                   35.0 AS forecast_high_usd, DATE '2026-03-20' AS budget_runout_day""")
    (cand,) = budget_candidates(con)
    link = urlsplit(cand.link)
    assert link.path == "alerts" and not link.fragment
    assert parse_qs(link.query) == {"kind": ["budget_runway"], "app": ["a&b=c #d"]}
