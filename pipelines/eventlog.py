"""Dagster's SQLite event log, with batched writes of a ranged run's materializations.

A run over a partition range (the single-run backfill of ``make demo``: a year, ~30 assets)
records one materialization event per asset per day — ~11,000 events. Dagster hands them to the
storage in batches (``DAGSTER_EVENT_BATCH_SIZE``; ``DagsterEventBatchMetadata`` marks the events
of one step's output), but its SQLite storage writes a batch one event at a time: per event a
new SQLAlchemy engine and a committed transaction in the run's file, another in the index file,
then the asset row rewritten (~50 ms per event on our 2-core machine: most of ``make demo``).

:class:`BatchedSqliteEventLogStorage` writes such a batch in one transaction per file with the
same rows Dagster writes — the events (run shard and index), their indexed tags, and each asset's
``asset_keys`` row as the per-event updates leave it — so the
UI, partition status and data-version lineage read exactly what they read otherwise. The run's
planned asset checks, logged in the same batch as its planned materializations, are written the
same way, then each check's execution row as Dagster writes it. Batches of other events (none
today) go through Dagster's own per-event path.

Configured by ``pipelines.instance`` in ``$DAGSTER_HOME/dagster.yaml`` (its files stay where
Dagster's default storage keeps them); the batch size is ``DAGSTER_EVENT_BATCH_SIZE``
(``pipelines.instance.use_batched_event_writes``; 0 = Dagster's per-event writes).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.instance import event_log_dir


def _is_asset_event(e: EventLogEntry) -> bool:
    return e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS and bool(e.dagster_event.asset_key)


def _is_check_event(e: EventLogEntry) -> bool:
    return e.is_dagster_event and e.dagster_event_type in ASSET_CHECK_EVENTS


def _batchable(events: Sequence[EventLogEntry]) -> bool:
    """A batch of one run's asset events (a step's materializations of a range) and asset check
    events (the run's planned materializations and checks, logged together when it starts)."""
    return len(events) > 1 and all(
        e.run_id == events[0].run_id and (_is_asset_event(e) or _is_check_event(e)) for e in events)


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage (Dagster's default) that writes a batch of a run's asset events
    (a step's materializations of a partition range) in one transaction per SQLite file."""

    @classmethod
    def config_type(cls) -> dict:
        return {"base_dir": dg.Field(dg.StringSource, is_required=False,
                                     description="default: $DAGSTER_HOME/history/runs (Dagster's own place)")}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> BatchedSqliteEventLogStorage:  # noqa: ANN001 (Dagster's signature)
        base_dir = config_value.get("base_dir") or str(event_log_dir())
        return cls(base_dir=base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not _batchable(events):
            super().store_event_batch(events)  # Dagster's path: one event at a time
            return
        rows = [self._event_to_row(e) for e in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        insert = SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True)
        with self.index_transaction() as conn:
            ids = [r[0] for r in conn.execute(insert, rows)]
            assets = [i for i, e in enumerate(events) if _is_asset_event(e)]
            self._store_asset_event_tags(conn, [events[i] for i in assets], [ids[i] for i in assets])
            # Each event rewrites its asset's row with the columns of its type; the last event of
            # each (asset, type), in batch order, leaves the row as the one-by-one writes do.
            last = {(events[i].dagster_event.asset_key, events[i].dagster_event_type): i for i in assets}
            for i in sorted(last.values()):
                self._store_asset_event(conn, events[i], ids[i])
        for i, e in enumerate(events):  # a check's execution row (its own transaction, as Dagster writes it)
            if _is_check_event(e):
                self.store_asset_check_event(e, ids[i])
