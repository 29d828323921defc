"""Alerts: the `alerts` asset (life cycle from provider_regressions, usage_anomalies_daily and
spend_forecast), a warning check on delivery, and the sensor that sends the alert state changes
after every successful run of the whole graph — through ``gatewaylens.delivery.send_pending``,
the function ``gatewaylens alerts send`` calls. A sink that is down never fails a run: the
sensor records the check ``alerts_delivered`` as a warning and the next send retries it."""

import dagster as dg

from gatewaylens import alerts as alerts_lib
from gatewaylens import delivery
from gatewaylens.config import settings
from gatewaylens.db import connect
from gatewaylens.report import frame_to_markdown

from .automation import everything
from .resources import POOL, Warehouse, with_warehouse

SOURCES = ["provider_regressions", "usage_anomalies_daily", "spend_forecast"]
CHECK = "alerts_delivered"


@dg.asset(
    deps=SOURCES,
    group_name="alerts",
    kinds={"duckdb", "python"},
    pool=POOL,
    description=(
        "Alerts with a life cycle (table `alerts`, state changes in `alert_events`): one per open provider "
        "regression (model x provider x metric), per usage anomaly of the latest day and per app whose budget "
        "runs out this month. Opened once, updated while it holds, resolved when it no longer does, reopened on "
        "relapse; alert_id is stable across runs. Not partitioned: evaluated on the latest state of its marts."
    ),
)
def alerts(context: dg.AssetExecutionContext, duckdb: Warehouse) -> dg.MaterializeResult:
    def work(con):
        result = alerts_lib.evaluate(con)
        open_now = con.sql(
            "SELECT severity, kind, subject, summary FROM alerts WHERE resolved_at IS NULL "
            "ORDER BY severity, kind, subject LIMIT 20"
        ).pl()
        total = con.sql("SELECT count(*) FROM alerts WHERE resolved_at IS NULL").fetchall()[0][0]
        return result, open_now, total

    result, open_now, total = with_warehouse(context, duckdb, work, what="evaluate alerts")
    context.log.info(f"alerts: {result.text()}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": int(total),
        "opened": len(result.opened),
        "reopened": len(result.reopened),
        "resolved": len(result.resolved),
        "still_open": len(result.updated),
        "open_alerts": dg.MetadataValue.md(frame_to_markdown(open_now)),
    })


def delivery_check(con) -> tuple[bool, dict]:
    """(every state change reached every configured sink, metadata)."""
    configured = [s.id for s in delivery.sinks_from_settings()]
    rows = delivery.delivery_status(con, configured)
    undelivered = sum(r["undelivered"] for r in rows)
    errors = "; ".join(f"{r['sink']}: {r['last_error']}" for r in rows if r["undelivered"])
    return undelivered == 0, {"sinks": len(configured), "undelivered": int(undelivered), "last_errors": errors or "none"}


@dg.asset_check(asset=alerts, name=CHECK, blocking=False, pool=POOL,
                description="Warning: every alert state change reached every configured sink (webhooks, e-mail).")
def alerts_delivered(context: dg.AssetCheckExecutionContext, duckdb: Warehouse) -> dg.AssetCheckResult:
    passed, metadata = with_warehouse(context, duckdb, delivery_check, what="check alert delivery")
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[everything],
    name="alert_delivery_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="After each successful run of the graph: send undelivered alert state changes to the "
    "configured sinks (each once); records the alerts_delivered check (warning when a sink is down).",
)
def alert_delivery_sensor(context: dg.RunStatusSensorContext):
    if not settings().alert_webhooks and not settings().smtp_host:
        return dg.SkipReason("no alert sinks configured (GATEWAYLENS_ALERT_WEBHOOKS / GATEWAYLENS_SMTP_HOST)")
    con = connect(settings().db)
    try:
        report = delivery.send_pending(con)
        passed, metadata = delivery_check(con)
    finally:
        con.close()
    context.instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=alerts.key, check_name=CHECK, passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={k: dg.MetadataValue.text(str(v)) for k, v in metadata.items()},
    ))
    context.log.info(f"alert delivery after run {context.dagster_run.run_id}: {report.text()}")
    return dg.SkipReason(f"delivered: {report.text()}")
