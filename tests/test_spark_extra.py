"""Spark is an optional extra (``gatewaylens[spark]``): without it the DuckDB engine runs as
before (Dagster gets a stand-in ``pyspark`` resource) and GATEWAYLENS_ENGINE=spark fails with one
sentence saying what to install. The suite itself runs with the extra installed, so its absence
is simulated where the code looks for it."""

from __future__ import annotations

import importlib.util

import dagster as dg
import pytest
from typer.testing import CliRunner

from gatewaylens.cli import app
from gatewaylens.engines.spark import MISSING
from pipelines.defs.resources import SparkExtraMissing


def test_without_pyspark_the_cli_says_what_to_install(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    monkeypatch.setenv("GATEWAYLENS_STORAGE", "lake")
    monkeypatch.setenv("GATEWAYLENS_ENGINE", "spark")
    monkeypatch.setenv("GATEWAYLENS_LAKE", str(tmp_path / "lake"))
    (tmp_path / "landing").mkdir()
    res = CliRunner().invoke(app, ["ingest", str(tmp_path / "landing")])
    assert res.exit_code == 2, res.output
    assert "gatewaylens[spark]" in " ".join(res.output.split())
    assert not (tmp_path / "lake").exists()


def test_the_stand_in_resource_runs_duckdb_steps_and_refuses_a_spark_session() -> None:
    seen = {}

    @dg.asset
    def duck_step(pyspark: SparkExtraMissing) -> None:
        seen["config"] = pyspark.spark_config
        with pytest.raises(RuntimeError, match=r"gatewaylens\[spark\]"):
            pyspark.spark_session  # noqa: B018 - the property is what is tested

    result = dg.materialize([duck_step], resources={"pyspark": SparkExtraMissing(spark_config={"spark.master": "local[2]"})})
    assert result.success and seen["config"] == {"spark.master": "local[2]"}
    assert MISSING.startswith("GATEWAYLENS_ENGINE=spark needs the Spark extra")
