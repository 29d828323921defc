"""The Dagster instance of this project: DAGSTER_HOME (default ``.dagster/`` in the project).

``python -m pipelines.instance`` writes ``$DAGSTER_HOME/dagster.yaml`` when it is missing
(``make dagster`` and ``make demo`` do), and replaces one written by an older version of this
module. It sets two things:

* the concurrency pool limit: every asset and check is in the ``gatewaylens_warehouse`` pool, and
  with ``granularity: run`` at most one run that writes the warehouse is in progress at a time — a
  sensor run and the nightly run queue up instead of fighting for DuckDB's single-writer lock;
* the event log storage: Dagster's SQLite storage, with a ranged run's materializations written in
  one transaction per asset (:mod:`pipelines.eventlog`; ``make demo`` records ~11,000 of them).

Runs, event logs, schedule ticks and the sensor cursor live in SQLite files under DAGSTER_HOME.
:func:`use_batched_event_writes` turns on Dagster's event batching (``DAGSTER_EVENT_BATCH_SIZE``)
in the processes that load the definitions (``pipelines.definitions`` calls it).
"""

import os
import sys
from pathlib import Path

DEFAULT_HOME = ".dagster"
EVENT_BATCH_SIZE = 1000  # events per write: a ranged run's materializations of one asset (a year = 365)

_HEADER = "# Written by `python -m pipelines.instance` (gatewaylens). Safe to edit; it is not overwritten.\n"
_POOLS = """\
concurrency:
  pools:
    granularity: run   # a pool limit caps the runs in progress that use the pool
    default_limit: 1   # gatewaylens_warehouse: one writer run at a time (DuckDB has one writer)
telemetry:
  enabled: false
"""
INSTANCE_YAML = _HEADER + _POOLS + """\
# Dagster's SQLite event log (under $DAGSTER_HOME/history/runs), writing a ranged run's
# materializations of an asset in one transaction (pipelines/eventlog.py).
event_log_storage:
  module: pipelines.eventlog
  class: BatchedSqliteEventLogStorage
  config: {}
"""
# What earlier versions wrote: replaced by INSTANCE_YAML (anything else is the user's and kept).
_PREVIOUS = (_HEADER + _POOLS,)


def dagster_home() -> Path:
    """DAGSTER_HOME, set to ./.dagster (absolute) when unset; created if missing."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path(DEFAULT_HOME).resolve())
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    return home


def event_log_dir(home: Path | None = None) -> Path:
    """Where Dagster's default SQLite storage keeps the event logs: $DAGSTER_HOME/history/runs."""
    return (home or dagster_home()) / "history" / "runs"


def use_batched_event_writes() -> None:
    """Let Dagster hand a step's partition-range materializations to the event log storage as
    batches (``DAGSTER_EVENT_BATCH_SIZE``; unless already set): written in one transaction by
    :class:`pipelines.eventlog.BatchedSqliteEventLogStorage`, one at a time by other storages."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))


def ensure_instance_config(home: Path | None = None) -> Path:
    """Write dagster.yaml into the instance folder unless one is there already (one written by
    an earlier version of this module is replaced)."""
    home = home or dagster_home()
    path = home / "dagster.yaml"
    if not path.exists() or path.read_text() in _PREVIOUS:
        path.write_text(INSTANCE_YAML)
    return path


if __name__ == "__main__":
    print(ensure_instance_config(), file=sys.stderr)
