"""Materialize the whole asset graph in-process — what `make demo` runs.

    python -m pipelines.materialize --all-landing          # every day that has landing files
    python -m pipelines.materialize --start 2026-01-01 --end 2026-01-31

It executes the ``gatewaylens_all`` job — the job the nightly schedule and the landing sensor
launch: requests -> every mart -> serving_snapshot, with every asset check — as one single-run
backfill over the range (each day is still processed on its own inside the run), recorded in the
instance in DAGSTER_HOME (default ./.dagster) so the Dagster UI shows it afterwards.
"""

import argparse
import datetime as dt
import sys
import time
import warnings

import dagster as dg

from gatewaylens.config import settings

from pipelines.defs.landing import landing_days
from pipelines.instance import dagster_home, ensure_instance_config

JOB = "gatewaylens_all"

# Dagster flags beta/preview parameters (backfill_policy, pool) on every load; not news to a demo user.
warnings.filterwarnings("ignore", category=UserWarning, module=r"dagster(\.|$)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all-landing", action="store_true", help="every day that has files in the landing folder")
    parser.add_argument("--start", type=dt.date.fromisoformat)
    parser.add_argument("--end", type=dt.date.fromisoformat)
    parser.add_argument("--log-level", default="INFO", help="Dagster console log level (default INFO)")
    parser.add_argument(
        "--instance", choices=("home", "ephemeral"), default="home",
        help="record the run in the instance in DAGSTER_HOME (default; the UI shows it), or in a "
             "throw-away in-memory instance: much faster for long ranges, because Dagster writes one "
             "event per asset per day into the instance's SQLite files",
    )
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
    if end < start:
        parser.error(f"--end {end} is before --start {start}")

    ensure_instance_config(dagster_home())
    from pipelines.definitions import defs
    from pipelines.defs.partitions import daily

    first, last = daily.get_first_partition_key(), daily.get_last_partition_key()
    if last is None or start.isoformat() < first or end.isoformat() > last:
        print(
            f"error: {start}..{end} is outside the daily partitions {first}..{last}. Days before "
            "GATEWAYLENS_START_DATE (or today's unfinished day) cannot be materialized: set "
            "GATEWAYLENS_START_DATE earlier, or pass --start/--end inside that range.",
            file=sys.stderr,
        )
        return 2

    job = defs().resolve_job_def(JOB)
    where = dagster_home() if args.instance == "home" else "ephemeral (not kept)"
    print(f"materializing {start}..{end} ({(end - start).days + 1} days) into {settings().db} "
          f"via Dagster job {JOB}; instance {where}", flush=True)
    started = time.perf_counter()
    with (dg.DagsterInstance.get() if args.instance == "home" else dg.DagsterInstance.ephemeral()) as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
                "gatewaylens/trigger": "materialize",
            },
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level.upper()}}}},
            raise_on_error=False,
        )
    seconds = time.perf_counter() - started
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for e in failed_checks:
        print(f"check {'FAILED' if e.severity == dg.AssetCheckSeverity.ERROR else 'warning'}: "
              f"{e.asset_check_key.to_user_string()}", file=sys.stderr)
    print(f"{'done' if result.success else 'FAILED'} in {seconds:.1f} s; snapshot {settings().serving_path}", flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
