"""Alerts with a life cycle, kept in the warehouse (library code: no Dagster or Streamlit).

Tables (created by :func:`ensure_tables`):

* ``alerts`` — one row per alert: ``alert_id`` is a hash of (kind, key), so the same condition
  keeps the same id across runs. Opened once, updated (``last_seen_at``, severity, summary,
  evidence) while it holds, resolved (``resolved_at``) when it no longer does, reopened on
  relapse (``resolved_at`` back to NULL, ``reopened_count`` + 1).
* ``alert_events`` — one row per state change (opened | resolved | reopened): what delivery sends.
* ``alert_deliveries`` — the delivery log (see :mod:`gatewaylens.delivery`).

Sources (:data:`SOURCES`): the open changes of ``provider_regressions`` in the snapshot of the
latest built day (one alert per model x provider x metric), the latest day's flagged rows of
``usage_anomalies_daily`` and the latest ``spend_forecast`` rows whose budget runs out this month. :func:`sync_alerts` is idempotent:
evaluating the same candidates twice changes nothing but ``last_seen_at``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

import duckdb

KINDS = ("provider_regression", "usage_anomaly", "budget_runway")

DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id       VARCHAR PRIMARY KEY,   -- sha256(kind | key), first 16 hex: stable across runs.
    kind           VARCHAR NOT NULL,      -- 'provider_regression' | 'usage_anomaly' | 'budget_runway'.
    subject        VARCHAR NOT NULL,      -- What it is about, as text (model @ provider · metric, app, ...).
    opened_at      TIMESTAMPTZ NOT NULL,  -- When it was first opened.
    last_seen_at   TIMESTAMPTZ NOT NULL,  -- Last evaluation at which it held.
    resolved_at    TIMESTAMPTZ,           -- When it stopped holding; NULL while open.
    reopened_count INTEGER NOT NULL,      -- Times it relapsed after being resolved.
    severity       VARCHAR NOT NULL,      -- 'critical' | 'warning' | 'info'.
    summary        VARCHAR NOT NULL,      -- One line for humans.
    evidence       JSON NOT NULL,         -- The numbers behind it (source row), as JSON.
    link           VARCHAR NOT NULL       -- Dashboard page (and query) that shows it.
);
CREATE TABLE IF NOT EXISTS alert_events (
    event_id  VARCHAR PRIMARY KEY,        -- alert_id:sequence number.
    alert_id  VARCHAR NOT NULL,
    seq       INTEGER NOT NULL,           -- 1, 2, ... per alert.
    event     VARCHAR NOT NULL,           -- 'opened' | 'resolved' | 'reopened'.
    event_at  TIMESTAMPTZ NOT NULL,      -- When the state changed.
    severity  VARCHAR NOT NULL,
    summary   VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    event_id       VARCHAR NOT NULL,      -- alert_events.event_id.
    sink           VARCHAR NOT NULL,      -- Sink id (webhook host + hash of the URL, or smtp:host); never the secret URL.
    delivery_key   VARCHAR NOT NULL,      -- Idempotency key of the message that carried it.
    status         VARCHAR NOT NULL,      -- 'pending' | 'sent' | 'failed'.
    attempts       INTEGER NOT NULL,      -- Send attempts so far.
    last_error     VARCHAR,               -- Why the last attempt failed (no secrets).
    updated_at     TIMESTAMPTZ NOT NULL,
    sent_at        TIMESTAMPTZ,
    PRIMARY KEY (event_id, sink)
);
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def alert_id(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:16]


@dataclass
class Candidate:
    """A condition that holds now."""

    kind: str
    key: str
    subject: str
    severity: str
    summary: str
    evidence: dict
    link: str

    @property
    def alert_id(self) -> str:
        return alert_id(self.kind, self.key)


@dataclass
class SyncResult:
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)

    def text(self) -> str:
        return (f"{len(self.opened)} opened, {len(self.reopened)} reopened, {len(self.updated)} still open, "
                f"{len(self.resolved)} resolved")


def _json(value) -> str:
    def default(o):
        if isinstance(o, (dt.date, dt.datetime)):
            return o.isoformat()
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


def _event(con, aid: str, event: str, at: dt.datetime, severity: str, summary: str) -> None:
    seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM alert_events WHERE alert_id = ?", [aid]).fetchall()[0][0]
    con.execute(
        "INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [f"{aid}:{seq}", aid, seq, event, at, severity, summary],
    )


def sync_alerts(
    con: duckdb.DuckDBPyConnection, found: list[Candidate], kinds: tuple[str, ...] = KINDS,
    now: dt.datetime | None = None,
) -> SyncResult:
    """Bring ``alerts`` in line with the conditions ``found`` for ``kinds`` (one transaction)."""
    ensure_tables(con)
    now = now or dt.datetime.now(dt.timezone.utc)
    result = SyncResult()
    by_id = {c.alert_id: c for c in found if c.kind in kinds}
    con.execute("BEGIN TRANSACTION")
    try:
        existing = {
            r[0]: r[1]
            for r in con.execute(
                "SELECT alert_id, resolved_at IS NULL FROM alerts WHERE list_contains(?, kind)", [list(kinds)]
            ).fetchall()
        }
        for aid, c in by_id.items():
            values = [c.severity, c.summary, _json(c.evidence), c.link, c.subject]
            if aid not in existing:
                con.execute(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?)",
                    [aid, c.kind, c.subject, now, now, c.severity, c.summary, _json(c.evidence), c.link],
                )
                _event(con, aid, "opened", now, c.severity, c.summary)
                result.opened.append(aid)
            elif existing[aid]:
                con.execute(
                    "UPDATE alerts SET last_seen_at = ?, severity = ?, summary = ?, evidence = ?, link = ?, subject = ? "
                    "WHERE alert_id = ?", [now, *values, aid],
                )
                result.updated.append(aid)
            else:
                con.execute(
                    "UPDATE alerts SET last_seen_at = ?, resolved_at = NULL, reopened_count = reopened_count + 1, "
                    "severity = ?, summary = ?, evidence = ?, link = ?, subject = ? WHERE alert_id = ?", [now, *values, aid],
                )
                _event(con, aid, "reopened", now, c.severity, c.summary)
                result.reopened.append(aid)
        for aid, is_open in existing.items():
            if is_open and aid not in by_id:
                con.execute("UPDATE alerts SET resolved_at = ? WHERE alert_id = ?", [now, aid])
                sev, summary = con.execute("SELECT severity, summary FROM alerts WHERE alert_id = ?", [aid]).fetchall()[0]
                _event(con, aid, "resolved", now, sev, summary)
                result.resolved.append(aid)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


# ------------------------------------------------------------------------------------------
# sources
# ------------------------------------------------------------------------------------------


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def regression_candidates(con) -> list[Candidate]:
    """One alert per (model, provider, metric) with an open change (the latest onset)."""
    out = []
    # the snapshot of the latest built day (a day without changes has no rows: nothing is open)
    latest = "provider_metrics_daily" if "provider_metrics_daily" in _tables(con) else "provider_regressions"
    for r in _rows(con, f"""
        SELECT * FROM provider_regressions
        WHERE status = 'open' AND day = (SELECT max(day) FROM {latest})
        QUALIFY row_number() OVER (PARTITION BY model, provider, metric ORDER BY onset_day DESC) = 1
        ORDER BY model, provider, metric"""):
        worse = r.get("worse")
        severity = "critical" if worse and r["attribution"] == "provider" else ("warning" if worse else "info")
        rel = r["delta"] / r["baseline_value"] if r["baseline_value"] else None
        change = f"{r['baseline_value']:.4g} -> {r['current_value']:.4g}" + (f" ({rel:+.0%})" if rel is not None else "")
        out.append(Candidate(
            kind="provider_regression",
            key=f"{r['model']}|{r['provider']}|{r['metric']}",
            subject=f"{r['model']} @ {r['provider']} · {r['metric']}",
            severity=severity,
            summary=f"{r['metric']} of {r['model']} on {r['provider']} changed {change} since {r['onset_day']} "
                    f"(attribution: {r['attribution']}, p={r['p_value']:.2g})",
            evidence=r,
            link="providers?" + urlencode({"model": r["model"], "provider": r["provider"]}),
        ))
    return out


def anomaly_candidates(con) -> list[Candidate]:
    out = []
    for r in _rows(con, """
        SELECT * FROM usage_anomalies_daily
        WHERE day = (SELECT max(day) FROM usage_anomalies_daily) AND anomaly
        ORDER BY dimension, subject, metric"""):
        direction = "above" if r["value"] > r["expected"] else "below"
        out.append(Candidate(
            kind="usage_anomaly",
            key=f"{r['dimension']}|{r['subject']}|{r['metric']}",
            subject=f"{r['dimension']} {r['subject']} · {r['metric']}",
            severity="warning" if direction == "above" else "info",
            summary=f"{r['metric']} of {r['dimension']} {r['subject']} on {r['day']}: {r['value']:,.4g}, {direction} "
                    f"the expected {r['expected']:,.4g} (95% {r['expected_low']:,.4g}-{r['expected_high']:,.4g}, "
                    f"score {r['score']:+.1f})",
            evidence=r,
            link="alerts?" + urlencode({"kind": "usage_anomaly", r["dimension"]: r["subject"]}),
        ))
    return out


def budget_candidates(con) -> list[Candidate]:
    out = []
    for r in _rows(con, """
        SELECT * FROM spend_forecast
        WHERE day = (SELECT max(day) FROM spend_forecast) AND budget_runout_day IS NOT NULL
        ORDER BY app"""):
        out.append(Candidate(
            kind="budget_runway",
            key=r["app"],
            subject=f"app {r['app']} · budget",
            severity="critical" if r["budget_runout_day"] <= r["day"] else "warning",
            summary=f"{r['app']} spent ${r['month_to_date_usd']:,.2f} of its ${r['budget_usd']:,.2f} monthly budget; "
                    f"forecast ${r['forecast_usd']:,.2f} (95% {r['forecast_low_usd']:,.2f}-{r['forecast_high_usd']:,.2f}); "
                    f"runs out on {r['budget_runout_day']}",
            evidence=r,
            link="alerts?" + urlencode({"kind": "budget_runway", "app": r["app"]}),
        ))
    return out


SOURCES = {
    "provider_regression": ("provider_regressions", regression_candidates),
    "usage_anomaly": ("usage_anomalies_daily", anomaly_candidates),
    "budget_runway": ("spend_forecast", budget_candidates),
}


def evaluate(con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None) -> SyncResult:
    """Read every source mart that exists and sync ``alerts`` (kinds without their mart are left alone)."""
    have = _tables(con)
    found, kinds = [], []
    for kind, (table, fn) in SOURCES.items():
        if table in have:
            kinds.append(kind)
            found += fn(con)
    return sync_alerts(con, found, tuple(kinds), now=now)


def list_alerts(con: duckdb.DuckDBPyConnection, include_resolved: bool = True, limit: int = 200) -> list[dict]:
    """Alerts, open first then most recently seen."""
    if "alerts" not in _tables(con):
        return []
    where = "" if include_resolved else "WHERE resolved_at IS NULL"
    return _rows(con, f"""
        SELECT alert_id, kind, subject, severity, opened_at, last_seen_at, resolved_at, reopened_count, summary,
               evidence, link
        FROM alerts {where}
        ORDER BY resolved_at IS NOT NULL, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                 last_seen_at DESC, alert_id
        LIMIT ?""", [int(limit)])
