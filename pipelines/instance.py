"""The Dagster instance of this project: DAGSTER_HOME (default ``.dagster/`` in the project).

``python -m pipelines.instance`` writes ``$DAGSTER_HOME/dagster.yaml`` when it is missing
(``make dagster`` and ``make demo`` do). The only setting is the concurrency pool limit: every
asset and check is in the ``gatewaylens_warehouse`` pool, and with ``granularity: run`` at most
one run that writes the warehouse is in progress at a time — a sensor run and the nightly run
queue up instead of fighting for DuckDB's single-writer lock. Everything else is Dagster's
default: runs, event logs, schedule ticks and the sensor cursor live in SQLite files under
DAGSTER_HOME.
"""

import os
import sys
from pathlib import Path

DEFAULT_HOME = ".dagster"

INSTANCE_YAML = """\
# Written by `python -m pipelines.instance` (gatewaylens). Safe to edit; it is not overwritten.
concurrency:
  pools:
    granularity: run   # a pool limit caps the runs in progress that use the pool
    default_limit: 1   # gatewaylens_warehouse: one writer run at a time (DuckDB has one writer)
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """DAGSTER_HOME, set to ./.dagster (absolute) when unset; created if missing."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path(DEFAULT_HOME).resolve())
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    return home


def ensure_instance_config(home: Path | None = None) -> Path:
    """Write dagster.yaml into the instance folder unless one is there already."""
    home = home or dagster_home()
    path = home / "dagster.yaml"
    if not path.exists():
        path.write_text(INSTANCE_YAML)
    return path


if __name__ == "__main__":
    print(ensure_instance_config(), file=sys.stderr)
