"""``gatewaylens alerts list | send``: the alerts table and its delivery (same library functions
as the Dagster asset and sensor)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gatewaylens import alerts as alerts_lib
from gatewaylens import db as dbmod
from gatewaylens import delivery
from gatewaylens.cli import app
from gatewaylens.cli._common import DbOption, console, fail, out, resolve_db

alerts_app = typer.Typer(help="Alerts: list them, send their state changes to the configured sinks.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
def list_cmd(
    include_resolved: bool = typer.Option(False, "--all", help="Include resolved alerts."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
    limit: int = typer.Option(200, min=1, help="At most this many alerts."),
    db: Path | None = DbOption,
) -> None:
    """Open alerts (and with --all the resolved ones), most severe first."""
    path = resolve_db(db)
    try:
        con = dbmod.connect_readonly(path)
    except FileNotFoundError as exc:
        fail(str(exc))
    try:
        rows = alerts_lib.list_alerts(con, include_resolved=include_resolved, limit=limit)
    finally:
        con.close()
    if as_json:
        for r in rows:
            print(json.dumps(r, default=str))
        return
    if not rows:
        out.print("no alerts" if include_resolved else "no open alerts")
        return
    table = Table("severity", "kind", "subject", "opened", "last seen", "resolved", "summary")
    for r in rows:  # names from the data are text: escape rich markup
        table.add_row(r["severity"], r["kind"], escape(r["subject"]), f"{r['opened_at']:%Y-%m-%d %H:%M}",
                      f"{r['last_seen_at']:%Y-%m-%d %H:%M}",
                      f"{r['resolved_at']:%Y-%m-%d %H:%M}" if r["resolved_at"] else "", escape(r["summary"]))
    out.print(table)


@alerts_app.command("send")
def send_cmd(
    evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate",
                                  help="First bring the alerts table in line with the marts (open/update/resolve)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a sink could not be reached."),
    db: Path | None = DbOption,
) -> None:
    """Send every undelivered alert state change to the webhooks and e-mail configured in
    GATEWAYLENS_ALERT_WEBHOOKS / GATEWAYLENS_SMTP_* (each change once per sink)."""
    path = resolve_db(db)
    if not path.exists():
        fail(f"no database at {path}: run `gatewaylens ingest` and `gatewaylens build` first")
    con = dbmod.connect(path)
    try:
        if evaluate:
            out.print(f"alerts: {alerts_lib.evaluate(con).text()}")
        report = delivery.send_pending(con)
    finally:
        con.close()
    line = escape(report.text())
    if report.ok:
        out.print(f"delivery: {line}")
    else:
        console.print(f"[bold yellow]warning:[/] delivery: {line}", soft_wrap=True)
        if strict:
            raise typer.Exit(1)
