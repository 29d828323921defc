"""Dagster entry point: everything is loaded from the defs/ folder."""

from pathlib import Path

import dagster as dg

from pipelines.instance import use_batched_event_writes

# A ranged run's materializations reach the event log in batches (pipelines/eventlog.py), in every
# process that loads these definitions (make demo, the run workers of `make dagster`).
use_batched_event_writes()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")
