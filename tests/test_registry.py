"""The mart registry and the mart file contract: each sql/<mart>.sql is ONE SELECT whose every
output column is documented on its line; the registry's order respects dependencies; deps are
exactly the marts a SELECT reads; grain/lookback/post-processing behave as declared."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.config import MartSettings
from gatewaylens.marts import registry
from gatewaylens.marts.registry import Mart
from tests.conftest import write_jsonl

SQL_DIR = Path(str(resources.files("gatewaylens").joinpath("sql")))
NOT_MARTS = {"ddl.sql", "views.sql", "macros.sql"}


def test_every_sql_file_is_a_registered_mart_and_vice_versa() -> None:
    files = {p.name for p in SQL_DIR.glob("*.sql")} - NOT_MARTS
    assert files == {m.sql_file for m in registry.REGISTRY}


@pytest.mark.parametrize("name", marts.MARTS)
def test_mart_file_is_one_select(name: str) -> None:
    con = duckdb.connect()
    statements = con.extract_statements(marts.mart_select(name))
    assert len(statements) == 1, name
    assert statements[0].type == duckdb.StatementType.SELECT, name
    text = (SQL_DIR / f"{name}.sql").read_text()
    assert text.startswith(f"-- {name}\n-- Grain:"), "header: name, then grain"
    for word in ("CREATE", "INSERT", "DELETE", "UPDATE", "DROP"):
        assert f"\n{word} " not in text, (name, word)


def test_order_respects_dependencies_and_deps_are_what_the_sql_reads() -> None:
    registry.check_order(registry.REGISTRY)
    con = duckdb.connect()
    marts.ensure_macros(con)
    for m in registry.REGISTRY:
        tables = con.get_table_names(marts.mart_select(m.name))
        assert tables - set(marts.MARTS) <= set(registry.BASE_TABLES), (m.name, tables)
        assert tables & set(marts.MARTS) == set(m.deps), (m.name, tables)
    with pytest.raises(ValueError, match="register those before it"):
        registry.check_order((Mart("b", deps=("a",)), Mart("a")))
    with pytest.raises(ValueError, match="twice"):
        registry.check_order((Mart("a"), Mart("a")))
    assert registry.with_dependencies(["provider_ranking", "load_profile_daily"]) == [
        "provider_variance", "provider_ranking", "load_hourly", "load_minutely", "load_profile_daily"]


def test_docs_name_every_output_column_in_order() -> None:
    """The trailing comments document exactly the SELECT's columns, in its order, none empty."""
    con = dbmod.connect(":memory:")
    marts.ensure_tables(con)
    docs = marts.mart_docs()
    for name in marts.MARTS:
        cols = [r[0] for r in con.sql(f"DESCRIBE {name}").fetchall()]
        assert list(docs[name]) == cols, name
        assert all(d.strip() for d in docs[name].values()), name
        assert cols[0] == "day", f"{name}: every mart is partitioned by its first column, day"


def test_lookback_and_grain() -> None:
    cfg = MartSettings(variance_window_days=7)
    assert registry.get("provider_variance").lookback_days(cfg) == 6
    assert registry.get("provider_variance_daily").lookback_days(cfg) == 0
    monthly = Mart("x", grain="month")
    assert monthly.bound_days(dt.date(2026, 2, 10), dt.date(2026, 3, 3)) == (dt.date(2026, 2, 1), dt.date(2026, 3, 31))
    assert Mart("y").bound_days(dt.date(2026, 2, 10), dt.date(2026, 2, 11)) == (dt.date(2026, 2, 10), dt.date(2026, 2, 11))
    with pytest.raises(ValueError, match="unknown mart"):
        registry.get("nope")


def _line(i: int, day: str, provider: str, tool: bool) -> dict:
    return {"request_id": f"{provider}-{i}", "ts": f"{day}T10:00:00Z", "model": "openai/gpt-5", "provider": provider,
            "status": "success", "finish_reason": "tool_calls" if tool else "stop", "input_tokens": 10, "output_tokens": 5}


def test_postprocess_fills_statistics_before_the_rows_are_written(tmp_path: Path) -> None:
    """provider_variance_daily's post-processing flags the degraded provider among three."""
    from gatewaylens.ingest import ingest_file

    day = "2026-02-01"
    lines = [_line(i, day, p, tool=(i % 10) < rate) for p, rate in (("a", 5), ("b", 5), ("c", 1)) for i in range(400)]
    con = dbmod.connect(tmp_path / "w.duckdb")
    ingest_file(con, write_jsonl(tmp_path / "x.jsonl", lines), salt="s")
    res = marts.build_mart(con, "provider_variance_daily", dt.date(2026, 2, 1))
    got = con.sql("SELECT provider, flagged, reference_providers, p_adjusted IS NOT NULL FROM provider_variance_daily "
                  "ORDER BY provider").fetchall()
    assert res.rows == 3
    assert got == [("a", False, "b", True), ("b", False, "a", True), ("c", True, "a,b", True)]
    con.close()


def test_postprocess_may_not_change_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = Mart("tool_call_rate_daily", postprocess=lambda rows, cfg: rows.drop("app"))
    monkeypatch.setitem(registry.BY_NAME, "tool_call_rate_daily", bad)
    con = dbmod.connect(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="changed the columns"):
        marts.build_mart(con, "tool_call_rate_daily", dt.date(2026, 2, 1))
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'tool_call_rate_daily'").fetchall() == [(0,)]
    con.close()


def test_table_created_from_the_select_types(tmp_path: Path) -> None:
    con = dbmod.connect(tmp_path / "w.duckdb")
    marts.build_mart(con, "load_profile_daily", dt.date(2026, 2, 1))
    types = dict(con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'load_profile_daily'").fetchall())
    assert types["day"] == "DATE" and types["active_hours"] == "INTEGER" and types["peak_hour"] == "TIMESTAMP WITH TIME ZONE"
    assert types["requests"] == "BIGINT" and types["batch_window_share"] == "DOUBLE"
    con.close()
