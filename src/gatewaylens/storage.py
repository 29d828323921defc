"""The storage seam: the same four operations on the DuckDB file or on the Parquet lake.

``GATEWAYLENS_STORAGE`` picks the implementation; the Dagster assets, the CLI and the tests call
only these functions:

* :func:`connect` — the one way to open the warehouse: the DuckDB file for writing
  (:func:`gatewaylens.db.connect`), or an in-memory DuckDB with views over the lake
  (:func:`gatewaylens.lake.connect`). Checks and previews read through it in both modes.
* :func:`ingest_days` — ingest each landing day's files (the lake writes one source per day);
  :func:`group_by_landing_day` groups the files a user names (``gatewaylens ingest``) that way.
* :func:`build_mart` — (re)build a mart for a day range (DELETE+INSERT / partition overwrite).
* :func:`publish` — the serving snapshot for the run's days (O(day) in both modes).

With ``GATEWAYLENS_ENGINE=spark`` (lake only) ingest and mart builds run on Spark
(:mod:`gatewaylens.engines.spark`); pass the run's SparkSession as ``spark`` (Dagster's
``pyspark`` resource), else one is created from the settings.

:func:`resolve_salt` is the one place that says where the salt file of a storage mode lives, so
the CLI and Dagster hash user ids with the same salt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from gatewaylens.config import Settings, settings
from gatewaylens.db import connect as connect_file
from gatewaylens.salt import Salt
from gatewaylens.salt import resolve_salt as _resolve_salt

if TYPE_CHECKING:
    from gatewaylens import lake as lakemod
    from gatewaylens import marts, serving
# (lake, marts and serving are imported where they are used: with polars they cost ~0.4 s of
# every CLI run, and `gatewaylens ingest` into the DuckDB file needs none of them)


def _lake(cfg: Settings) -> lakemod.Lake | None:
    if cfg.storage != "lake":
        return None
    from gatewaylens import lake as lakemod

    return lakemod.Lake(cfg.lake)


def connect(cfg: Settings | None = None) -> duckdb.DuckDBPyConnection:
    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is None:
        return connect_file(cfg.db)
    from gatewaylens import lake as lakemod

    return lakemod.connect(lake)


def resolve_salt(cfg: Settings | None = None) -> Salt:
    """The salt of this storage mode (:func:`gatewaylens.salt.resolve_salt`): ``GATEWAYLENS_SALT``,
    else the salt file beside the warehouse file, or beside a local lake's folder. A lake on object
    storage keeps it beside the (local) warehouse path: set ``GATEWAYLENS_SALT`` when several
    machines ingest into it."""
    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is not None and lake.fs is None:
        cfg = cfg.model_copy(update={"db": Path(lake.root)})
    return _resolve_salt(cfg)


class LandingError(ValueError):
    """Files that cannot be ingested into the lake as whole landing days (the message says why)."""


def _landing_day(path: Path) -> tuple[dt.date, Path] | None:
    """The landing day of a file under ``.../YYYY/MM/DD/`` (nearest such folder), and the folder."""
    for folder in path.parents:
        try:
            return dt.date(int(folder.parent.parent.name), int(folder.parent.name), int(folder.name)), folder
        except ValueError:
            continue
    return None


def group_by_landing_day(files: list[Path], source: dt.date | None = None) -> dict[dt.date, list[Path]]:
    """Files grouped into the lake's sources (one landing day each), for ``gatewaylens ingest``.

    A source is written whole: re-ingesting a landing day replaces every file it wrote before. So
    each day is taken from a landing folder ``YYYY/MM/DD`` and must come with *all* of that
    folder's log files (else the day's other files would be dropped from the lake); ``source``
    names the landing day of files outside that layout (they then form that whole source).
    Raises :class:`LandingError` saying what to pass instead."""
    from gatewaylens.ingest import find_input_files

    if source is not None:
        return {source: list(files)} if files else {}
    by_day: dict[dt.date, list[Path]] = {}
    folders: dict[dt.date, Path] = {}
    for f in files:
        found = _landing_day(Path(f).absolute())
        if found is None:
            raise LandingError(f"{f} is not in a landing folder YYYY/MM/DD/: in lake storage each landing day is "
                               "one source; pass --source YYYY-MM-DD to name the landing day of these files")
        day, folder = found
        if folders.setdefault(day, folder) != folder:
            raise LandingError(f"two folders for landing day {day}: {folders[day]} and {folder}")
        by_day.setdefault(day, []).append(f)
    for day, given in by_day.items():
        whole = {p.absolute() for p in find_input_files([folders[day]])}
        left_out = sorted(whole - {Path(p).absolute() for p in given})
        if left_out:
            raise LandingError(f"landing day {day} is ingested whole in lake storage (it replaces what the day wrote "
                               f"before), but {len(left_out)} of its files were not given (e.g. {left_out[0]}): "
                               f"pass the folder {folders[day]}")
    return dict(sorted(by_day.items()))


def ingest_days(
    con: duckdb.DuckDBPyConnection,
    files_by_day: dict[dt.date, list[Path]],
    *,
    salt: str,
    on_file: Callable | None = None,
    cfg: Settings | None = None,
    spark=None,
    fmt: str | None = None,
    force: bool = False,
) -> list:
    """Ingest the files of each landing day; returns the ingest.FileResult of every file.

    ``fmt`` forces one input format; ``force`` re-reads files already ingested (DuckDB file; the
    lake always reads a source whole, replacing it)."""
    from gatewaylens.ingest import ingest_files

    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is None:
        files = [f for day in sorted(files_by_day) for f in files_by_day[day]]
        return ingest_files(con, files, salt=salt, fmt=fmt, force=force, on_file=on_file)
    from gatewaylens import lake as lakemod

    if cfg.engine == "spark":
        from gatewaylens.engines import spark as spark_engine

        results = spark_engine.ingest_days(spark or spark_engine.session_for(cfg), lake, files_by_day, salt=salt,
                                           fmt=fmt)
        for res in results if on_file is not None else ():
            on_file(res)
        for table in lakemod.BASE_TABLES:
            lakemod.refresh_view(con, lake, table)
        return results
    results = []
    for day in sorted(files_by_day):
        results += lakemod.ingest_source(day.isoformat(), files_by_day[day], salt=salt, lake=lake, on_file=on_file,
                                         fmt=fmt).files
    for table in lakemod.BASE_TABLES:
        lakemod.refresh_view(con, lake, table)
    return results


def build_mart(con: duckdb.DuckDBPyConnection, name: str, start_day: dt.date, end_day: dt.date | None = None,
               cfg: Settings | None = None, spark=None) -> marts.MartResult:
    from gatewaylens import lake as lakemod
    from gatewaylens import marts

    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is None:
        return marts.build_mart(con, name, start_day, end_day, cfg.marts)
    if cfg.engine == "spark":
        from gatewaylens.engines import spark as spark_engine

        result = spark_engine.build_mart(spark or spark_engine.session_for(cfg), lake, name, start_day, end_day, cfg.marts)
        lakemod.refresh_view(con, lake, name)
        return result
    return lakemod.build_mart(con, name, start_day, end_day, cfg.marts, lake=lake)


def drop_marts(cfg: Settings | None = None) -> None:
    """``build --rebuild``: drop every mart (tables of the file, or partition files of the lake).
    Open the connection after this (a lake connection lists the marts' files when it opens)."""
    from gatewaylens import lake as lakemod
    from gatewaylens import marts

    cfg = cfg or settings()
    lake = _lake(cfg)
    if lake is not None:
        lakemod.drop_marts(lake)
        return
    con = connect_file(cfg.db)
    try:
        marts.drop_marts(con)
    finally:
        con.close()


def where(cfg: Settings | None = None) -> str:
    """Where the warehouse is, for messages: the DuckDB file, or ``lake <root>``."""
    cfg = cfg or settings()
    return f"lake {cfg.lake}" if cfg.storage == "lake" else str(cfg.db)


def publish(con: duckdb.DuckDBPyConnection, days: tuple[dt.date, dt.date] | None,
            cfg: Settings | None = None) -> serving.PublishResult:
    from gatewaylens import serving

    cfg = cfg or settings()
    return serving.publish_snapshot(con, cfg.serving_path, days=days, lake=_lake(cfg))
