"""The Streamlit app runs (AppTest) on an empty and on a populated warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from gatewaylens import db as dbmod, marts
from gatewaylens.ingest import ingest_paths
from tests.conftest import ROOT, write_jsonl
from tests.test_ingest import good

APP = str(ROOT / "dashboards" / "app.py")


def test_app_without_database_shows_no_data_state(env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("No data yet" in i.value for i in at.info)


def test_app_with_data_shows_the_tool_call_rate(env):
    f = write_jsonl(env["landing"] / "a.jsonl", [good(1), good(2, finish_reason="tool_calls")])
    con = dbmod.connect(env["db"])
    ingest_paths(con, [f], salt="s")
    marts.build_all(con, dt.date(2026, 1, 15))
    con.close()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Tool-call rate"] == "50.0%"
