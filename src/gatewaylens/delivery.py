"""Deliver alert state changes to webhooks and e-mail, each exactly once per sink.

:func:`send_pending` is the one entry point (``gatewaylens alerts send`` and the Dagster sensor
call it). For every sink it gathers the ``alert_events`` that sink has not been sent yet
(``alert_deliveries`` in the warehouse is the log), marks them 'pending' under one idempotency
key, sends ONE message, and marks them 'sent'. A failure is retried with exponential backoff
(``retries`` attempts); when all fail the rows become 'failed' with the reason and are sent on the
next call — after a restart too, with the same key while the pending set is the same (a receiver
that dedupes on ``Idempotency-Key`` / ``Message-ID`` never shows it twice). An event marked 'sent'
for a sink is never sent to it again. A sink that is down never raises: the report says so.

Sinks (from :class:`gatewaylens.config.Settings`):

* webhooks — ``GATEWAYLENS_ALERT_WEBHOOKS``, comma-separated URLs; Slack-compatible JSON body
  ``{"text": "<summary>", "alerts": [{...one per event...}]}``, header ``Idempotency-Key``.
* e-mail — ``GATEWAYLENS_SMTP_HOST`` (+ ``_PORT``, ``_FROM``, ``_TO`` comma-separated,
  ``_USER``/``_PASSWORD``, ``_STARTTLS``), stdlib smtplib; ``Message-ID`` carries the key.

The warehouse stores a sink's id (host + a hash of the URL), never the URL itself: webhook URLs
are secrets (Slack's carry the token).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urlsplit

import duckdb

from gatewaylens.alerts import ensure_tables


class SinkError(RuntimeError):
    """A send failed (the message says why, without secrets)."""


@dataclass
class WebhookSink:
    url: str
    timeout: float = 10.0

    @property
    def id(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook:{parts.hostname}:{parts.port or ''}:{hashlib.sha256(self.url.encode()).hexdigest()[:10]}"

    def send(self, text: str, alerts: list[dict], key: str) -> None:
        body = json.dumps({"text": text, "alerts": alerts}, default=str).encode()
        req = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "gatewaylens-alerts"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
                if not 200 <= resp.status < 300:
                    raise SinkError(f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            raise SinkError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SinkError(f"{type(exc).__name__}: {reason}") from None


@dataclass
class SmtpSink:
    host: str
    port: int
    sender: str
    to: list[str]
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    @property
    def id(self) -> str:
        return f"smtp:{self.host}:{self.port}:{','.join(sorted(self.to))}"

    def send(self, text: str, alerts: list[dict], key: str) -> None:
        msg = EmailMessage()
        msg["Subject"] = f"[gatewaylens] {text}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Message-ID"] = f"<{key}@gatewaylens>"
        msg["X-Idempotency-Key"] = key
        lines = [text, ""] + [f"- [{a['event']}] [{a['severity']}] {a['summary']}" for a in alerts]
        msg.set_content("\n".join(lines) + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"{type(exc).__name__}: {exc}"[:200]) from None


def sinks_from_settings(cfg=None) -> list:
    """The sinks configured in :class:`gatewaylens.config.Settings`."""
    from gatewaylens.config import settings

    cfg = cfg or settings()
    sinks: list = [WebhookSink(u) for u in cfg.alert_webhooks]
    if cfg.smtp_host and cfg.smtp_to:
        sinks.append(SmtpSink(cfg.smtp_host, cfg.smtp_port, cfg.smtp_from, list(cfg.smtp_to), cfg.smtp_user,
                              cfg.smtp_password, cfg.smtp_starttls))
    return sinks


@dataclass
class SinkReport:
    sink: str
    sent: int = 0  # events delivered by this call
    failed: int = 0  # events still undelivered after this call's retries
    attempts: int = 0
    error: str | None = None


@dataclass
class DeliveryReport:
    sinks: list[SinkReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.error is None for s in self.sinks)

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.sinks)

    def text(self) -> str:
        if not self.sinks:
            return "no alert sinks configured"
        return "; ".join(
            f"{s.sink}: {s.sent} sent" + (f", {s.failed} NOT delivered ({s.error})" if s.error else "")
            for s in self.sinks
        )


def _pending(con, sink: str) -> list[dict]:
    cur = con.execute(
        """SELECT e.event_id, e.alert_id, e.event, e.event_at, e.severity, e.summary, a.kind, a.subject, a.link,
                  a.evidence::VARCHAR AS evidence
           FROM alert_events e JOIN alerts a USING (alert_id)
           WHERE NOT EXISTS (SELECT 1 FROM alert_deliveries d
                             WHERE d.event_id = e.event_id AND d.sink = ? AND d.status = 'sent')
           ORDER BY e.event_at, e.event_id""",
        [sink],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    for r in rows:
        r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else {}
        r["event_at"] = r["event_at"].isoformat()
    return rows


def summary_text(events: list[dict]) -> str:
    counts: dict[str, int] = {}
    for e in events:
        counts[e["event"]] = counts.get(e["event"], 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    head = events[0]["summary"] if len(events) == 1 else f"{len(events)} alert changes ({parts})"
    return head


def _mark(con, events: list[dict], sink: str, key: str, status: str, attempts: int, error: str | None) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    con.executemany(
        """INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (event_id, sink) DO UPDATE SET delivery_key = excluded.delivery_key, status = excluded.status,
               attempts = alert_deliveries.attempts + excluded.attempts, last_error = excluded.last_error,
               updated_at = excluded.updated_at, sent_at = excluded.sent_at""",
        [[e["event_id"], sink, key, status, attempts, error, now, now if status == "sent" else None] for e in events],
    )


def send_pending(
    con: duckdb.DuckDBPyConnection, sinks: list | None = None, *, retries: int | None = None,
    backoff: float | None = None, sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send every undelivered alert state change to every sink (see the module docstring).
    Sinks, retries and backoff default to the settings (GATEWAYLENS_ALERT_*, GATEWAYLENS_SMTP_*)."""
    from gatewaylens.config import settings

    ensure_tables(con)
    cfg = settings()
    sinks = sinks_from_settings(cfg) if sinks is None else sinks
    retries = cfg.alert_retries if retries is None else retries
    backoff = cfg.alert_backoff_s if backoff is None else backoff
    report = DeliveryReport()
    for sink in sinks:
        rep = SinkReport(sink.id)
        report.sinks.append(rep)
        events = _pending(con, sink.id)
        if not events:
            continue
        key = hashlib.sha256((sink.id + "|" + "|".join(e["event_id"] for e in events)).encode()).hexdigest()[:32]
        _mark(con, events, sink.id, key, "pending", 0, None)
        payload = [
            {k: e[k] for k in ("alert_id", "event", "event_at", "severity", "kind", "subject", "summary", "link", "evidence")}
            for e in events
        ]
        text = summary_text(events)
        delay = backoff
        for attempt in range(1, retries + 1):
            rep.attempts = attempt
            try:
                sink.send(text, payload, key)
                rep.error = None
                break
            except SinkError as exc:
                rep.error = str(exc)
                if attempt < retries:
                    sleep(delay)
                    delay *= 2
        if rep.error is None:
            _mark(con, events, sink.id, key, "sent", rep.attempts, None)
            rep.sent = len(events)
        else:
            _mark(con, events, sink.id, key, "failed", rep.attempts, rep.error)
            rep.failed = len(events)
    return report


def delivery_status(con: duckdb.DuckDBPyConnection, sinks: list[str]) -> list[dict]:
    """Per sink id: state changes sent, state changes not yet delivered (never tried included) and
    the last error (for the asset check)."""
    ensure_tables(con)
    cur = con.execute(
        """SELECT s.sink,
                  count(d.event_id) FILTER (WHERE d.status = 'sent') AS sent,
                  count(e.event_id) FILTER (WHERE d.status IS DISTINCT FROM 'sent') AS undelivered,
                  arg_max(d.last_error, d.updated_at) FILTER (WHERE d.status <> 'sent') AS last_error
           FROM unnest(?::VARCHAR[]) s(sink)
           CROSS JOIN alert_events e
           LEFT JOIN alert_deliveries d ON d.event_id = e.event_id AND d.sink = s.sink
           GROUP BY s.sink ORDER BY s.sink""",
        [list(sinks)],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
