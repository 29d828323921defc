"""Shared fixtures: real DuckDB files in tmp dirs, env pointed at them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewaylens import db as dbmod

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(tmp_db: Path):
    c = dbmod.connect(tmp_db)
    yield c
    c.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """GATEWAYLENS_* and DAGSTER_HOME pointed into tmp_path."""
    paths = {
        "db": tmp_path / "warehouse.duckdb",
        "landing": tmp_path / "landing",
        "dagster_home": tmp_path / "dagster_home",
    }
    paths["landing"].mkdir()
    paths["dagster_home"].mkdir()
    monkeypatch.setenv("GATEWAYLENS_DB", str(paths["db"]))
    monkeypatch.setenv("GATEWAYLENS_LANDING", str(paths["landing"]))
    monkeypatch.setenv("DAGSTER_HOME", str(paths["dagster_home"]))
    monkeypatch.delenv("GATEWAYLENS_SERVING", raising=False)
    return paths


def write_jsonl(path: Path, records: list) -> Path:
    """Write records (dicts become JSON; str/bytes are written as-is) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for r in records:
            if isinstance(r, bytes):
                fh.write(r + b"\n")
            elif isinstance(r, str):
                fh.write(r.encode() + b"\n")
            else:
                fh.write(json.dumps(r).encode() + b"\n")
    return path


# The shared test session's Spark configuration. Test data is tiny: compiling is the cost, not
# running. C1-only JIT, and Spark's interpreted expressions instead of generated code, halve the
# Spark tests' time here; 2 shuffle partitions (Spark's default is 200); adaptive execution off
# (re-planning every stage costs more than it saves on a few hundred rows: a third of the marts'
# time, measured; the results are the same, which the equality test checks). Tests that go through
# settings (Dagster's pyspark resource, the CLI) pass the same keys in GATEWAYLENS_SPARK_CONF, so
# the running session keeps them (runtime SQL keys of a builder apply to the existing session).
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the whole run (UI off, 2 shuffle partitions). Spark tests are
    marked ``xdist_group("spark")`` so that, with ``--dist loadgroup``, one worker owns it."""
    import shutil

    if shutil.which("java") is None:
        pytest.skip("no Java runtime (make java-deps installs Debian's default-jre-headless)")
    from gatewaylens.engines import spark as engine

    session = engine.session(engine.spark_conf("local[2]", SPARK_TEST_CONF))
    yield session
    session.stop()


@pytest.fixture
def spark_env(spark, env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Settings for the Spark engine on a tmp lake, on the shared session (returns the lake root)."""
    root = tmp_path / "lake-spark"
    for key, value in {"STORAGE": "lake", "LAKE": str(root), "ENGINE": "spark", "SPARK_MASTER": "local[2]",
                       "SPARK_CONF": json.dumps(SPARK_TEST_CONF)}.items():
        monkeypatch.setenv(f"GATEWAYLENS_{key}", value)
    return root
