"""The landing folder (``GATEWAYLENS_LANDING``): one folder per UTC day, ``YYYY/MM/DD/<files>``.

Pure functions shared by the ``requests`` asset, the landing sensor and ``pipelines.materialize``.
A day's *fingerprint* summarises its log files by relative path, size and mtime: it changes when
a file is added, rewritten or touched, and not otherwise — that is what the sensor compares.
"""

import datetime as dt
import hashlib
from pathlib import Path

from gatewaylens.config import settings
from gatewaylens.ingest import LOG_SUFFIXES


def landing_root() -> Path:
    return settings().landing


def landing_folder(day: dt.date, root: Path | None = None) -> Path:
    return (root or landing_root()) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def _day_of(folder: Path) -> dt.date | None:
    try:
        return dt.date(int(folder.parent.parent.name), int(folder.parent.name), int(folder.name))
    except ValueError:
        return None


def day_files(root: Path | None = None) -> dict[dt.date, list[Path]]:
    """Log files per day folder under the landing root (files of other names are ignored)."""
    root = root or landing_root()
    out: dict[dt.date, list[Path]] = {}
    if not root.exists():
        return out
    for folder in root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]"):
        day = _day_of(folder)
        if day is None or not folder.is_dir():
            continue
        files = sorted(f for f in folder.rglob("*") if f.is_file() and f.name.endswith(LOG_SUFFIXES))
        if files:
            out[day] = files
    return dict(sorted(out.items()))


def landing_days(root: Path | None = None) -> list[dt.date]:
    return list(day_files(root))


def fingerprint(files: list[Path], root: Path) -> str:
    """Digest of (relative path, size, mtime_ns) of a day's files."""
    h = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def fingerprints(root: Path | None = None) -> dict[str, str]:
    """{ISO day: fingerprint} for every day folder with log files."""
    root = root or landing_root()
    return {day.isoformat(): fingerprint(files, root) for day, files in day_files(root).items()}


def contiguous_ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """[(start, end)] runs of consecutive days, in order."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for d in sorted(set(days)):
        if ranges and d == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], d)
        else:
            ranges.append((d, d))
    return ranges
