"""Materialize the whole asset graph in-process — what `make demo` runs.

    python -m pipelines.materialize --all-landing          # every day that has landing files
    python -m pipelines.materialize --start 2026-01-01 --end 2026-01-31

It runs the same assets the nightly schedule runs, as one single-run backfill over the range
(each day is still processed on its own inside the run), against the instance in DAGSTER_HOME.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import dagster as dg

from gatewaylens.config import settings


def landing_days() -> list[dt.date]:
    root = settings().landing
    days = set()
    for f in root.glob("*/*/*/*"):
        try:
            days.add(dt.date(int(f.parent.parent.parent.name), int(f.parent.parent.name), int(f.parent.name)))
        except ValueError:
            continue
    return sorted(days)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all-landing", action="store_true", help="every day that has files in the landing folder")
    parser.add_argument("--start", type=dt.date.fromisoformat)
    parser.add_argument("--end", type=dt.date.fromisoformat)
    args = parser.parse_args(argv)
    if args.all_landing:
        days = landing_days()
        if not days:
            print(f"no landing files under {settings().landing}; nothing to do", file=sys.stderr)
            return 2
        start, end = days[0], days[-1]
    elif args.start:
        start, end = args.start, args.end or args.start
    else:
        parser.error("give --all-landing or --start [--end]")

    from pipelines.definitions import defs

    definitions = defs()
    job_assets = list(definitions.assets or [])
    instance = dg.DagsterInstance.get()
    print(f"materializing {len(job_assets)} assets for {start}..{end} into {settings().db}", flush=True)
    result = dg.materialize(
        job_assets,
        instance=instance,
        resources=definitions.resources,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
