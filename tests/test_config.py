"""The settings seam: every variable read in one place, validated, and documented from its field."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from gatewaylens import config
from tests.conftest import ROOT


def test_every_field_is_read_from_its_variable() -> None:
    env = {"GATEWAYLENS_DB": "x/w.duckdb", "GATEWAYLENS_STORAGE": "lake", "GATEWAYLENS_LAKE": "s3://b/gl",
           "GATEWAYLENS_START_DATE": "2026-01-01", "GATEWAYLENS_QUARANTINE_MAX": "0.2",
           "GATEWAYLENS_VARIANCE_WINDOW_DAYS": "14", "GATEWAYLENS_LOCK_RETRIES": "2", "GATEWAYLENS_SERVING": ""}
    cfg = config.settings(env)
    assert cfg.db == Path("x/w.duckdb") and cfg.serving_path == Path("x/w.serving.duckdb")
    assert (cfg.storage, cfg.lake, cfg.engine) == ("lake", "s3://b/gl", "duckdb")
    assert cfg.start_date == dt.date(2026, 1, 1) and cfg.quarantine_max == 0.2 and cfg.lock_retries == 2
    assert cfg.marts.variance_window_days == 14
    assert config.settings({}) == config.Settings()


@pytest.mark.parametrize("env, name", [
    ({"GATEWAYLENS_STORAGE": "parquet"}, "GATEWAYLENS_STORAGE"),
    ({"GATEWAYLENS_QUARANTINE_MAX": "2"}, "GATEWAYLENS_QUARANTINE_MAX"),
    ({"GATEWAYLENS_BATCH_WINDOW_END_HOUR": "0"}, "GATEWAYLENS"),
    ({"GATEWAYLENS_ENGINE": "spark"}, "GATEWAYLENS"),  # spark needs the lake
])
def test_invalid_values_name_the_variable(env: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        config.settings(env)


def test_no_module_reads_the_environment_but_config() -> None:
    offenders = []
    for folder in ("src/gatewaylens", "pipelines", "dashboards"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if re.search(r"os\.environ|os\.getenv|EnvVar\(", text) and path.name != "config.py":
                if path.as_posix().endswith(("pipelines/instance.py", "dashboards/harness.py")):
                    continue  # DAGSTER_HOME (Dagster's own) / a child process's environment
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
