"""Real dagster.materialize of the ingest and first mart for one partition on a tmp DuckDB file."""

from __future__ import annotations

import dagster as dg

from gatewaylens import db as dbmod
from tests.conftest import write_jsonl
from tests.test_ingest import good


def test_materialize_requests_and_tool_call_rate_for_one_day(env):
    day_dir = env["landing"] / "2026" / "01" / "15"
    write_jsonl(day_dir / "requests.jsonl", [good(1), good(2, finish_reason="tool_calls"), good(3, status="error", http_status=500, finish_reason="error"), "bad"])
    write_jsonl(env["landing"] / "2026" / "01" / "16" / "requests.jsonl", [good(9, ts="2026-01-16T00:00:00Z")])

    from pipelines.defs import assets, resources

    result = dg.materialize(
        [assets.requests, assets.mart_asset("tool_call_rate_daily")],
        resources={"duckdb": resources.warehouse_resource(), "pyspark": resources.spark_resource()},
        partition_key="2026-01-15",
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    meta = {str(e.asset_key.path[-1]): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["requests"]["rows_inserted"].value == 3
    assert meta["requests"]["quarantined"].value == 1
    con = dbmod.connect(env["db"])
    try:
        # Only the partition's day was ingested.
        assert con.sql("SELECT DISTINCT day::VARCHAR FROM requests").fetchall() == [("2026-01-15",)]
        got = con.sql(
            "SELECT sum(requests), sum(successful_requests), sum(tool_call_requests), "
            "sum(tool_call_requests) / sum(successful_requests) FROM tool_call_rate_daily"
        ).fetchall()[0]
        assert got == (3, 2, 1, 0.5)
    finally:
        con.close()
