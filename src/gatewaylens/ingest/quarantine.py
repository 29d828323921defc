"""What a rejected record leaves in ``quarantine``: a redacted text, a reason, a detail — built so
that no line can stop a run and no secret is kept.

:func:`row_text` redacts (redact.py) and explains (pydantic, canonical lines) one rejected line;
any exception while doing so makes the line an ``unexplainable line`` instead of a failed run.
:class:`Collector` keeps at most ``max_rows`` quarantine rows per file: past it, the file's
remaining rejected records become ONE row whose ``records`` column holds their count, so a flood
of bad lines costs bounded storage and ``ingested_files.quarantined`` (= sum of ``records``)
still counts every one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import ValidationError

from gatewaylens.redact import mask_text, redact_line
from gatewaylens.schema import CanonicalLine

UNEXPLAINABLE = "unexplainable line"
FLOOD = "too many rejected records"
OVER_LIMIT = "over limit"
UNREADABLE = "unreadable file"
REFUSED = "not a regular file"
FAILED = "file failed"


def _shown(value: object) -> str:
    """How a rejected value is named in ``detail``: numbers and booleans as they are, any string
    by its length only, containers by their kind."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return repr(value)[:40]
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def explain(line: str, source_format: str | None) -> str | None:
    """Precise explanation of a rejected canonical line, from the pydantic model; never quotes a
    string value of the input."""
    if source_format != "canonical":
        return None
    try:
        CanonicalLine.model_validate_json(line)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_input=True, include_url=False)[:3]:
            loc = ".".join(str(p) for p in err["loc"]) or "line"
            msg = err["msg"] if err["type"] != "value_error" else err["msg"].split(" (got", 1)[0]
            parts.append(f"{loc}: {msg} (got {_shown(err.get('input'))})")
        return "; ".join(parts)
    return None


def row_text(line: str, reason: str, source_format: str | None, explained: bool) -> tuple[str, str, str | None]:
    """(raw_line, reason, detail) for a rejected line; an exception turns it into an unexplainable line."""
    try:
        return redact_line(line), reason, (explain(line, source_format) if explained else None)
    except Exception as exc:  # noqa: BLE001 - any failure on one line must not stop the run
        try:
            raw = mask_text(line[:1024])
        except Exception:  # noqa: BLE001
            raw = ""
        return raw, UNEXPLAINABLE, f"{type(exc).__name__} while redacting or explaining the line (was: {reason})"


@dataclass
class FileRows:
    """Quarantine rows of one file, capped."""

    path: str
    rows: list[tuple] = field(default_factory=list)
    flooded: int = 0  # rejected records past the cap (one summary row)
    first_flooded: int | None = None

    def room(self, cap: int) -> int:
        return max(cap - len(self.rows), 0)


class Collector:
    """Quarantine rows per file, at most ``max_rows`` each plus one flood summary."""

    def __init__(self, paths: list[str], max_rows: int, now: dt.datetime):
        self.files = [FileRows(p) for p in paths]
        self.max_rows = max_rows
        self.now = now

    def wants(self, k: int) -> int:
        """How many more rows file ``k`` may store one by one."""
        return self.files[k].room(self.max_rows)

    def add(self, k: int, line_no: int, raw: str, reason: str, detail: str | None, source_format: str | None) -> None:
        f = self.files[k]
        if len(f.rows) < self.max_rows:
            f.rows.append((f.path, line_no, raw, reason, detail, source_format, self.now, 1))
        else:
            self.count_only(k, 1, line_no)

    def count_only(self, k: int, n: int, first_line: int) -> None:
        """``n`` rejected records of file ``k`` not stored one by one (past the cap)."""
        if n <= 0:
            return
        f = self.files[k]
        f.flooded += n
        f.first_flooded = first_line if f.first_flooded is None else min(f.first_flooded, first_line)

    def rows(self) -> list[tuple]:
        out: list[tuple] = []
        for f in self.files:
            out.extend(f.rows)
            if f.flooded:
                out.append((f.path, f.first_flooded, "", FLOOD,
                            f"{f.flooded:,} more rejected records of this file (from line {f.first_flooded:,} on) are "
                            f"counted here, not stored one by one (ingest_max_quarantine_rows_per_file = "
                            f"{self.max_rows:,})", None, self.now, f.flooded))
        return out

    def drop(self, k: int) -> None:
        """Forget file ``k``'s rows (a file found to be a copy of one ingested before)."""
        self.files[k] = FileRows(self.files[k].path)

    def quarantined(self, k: int) -> int:
        f = self.files[k]
        return len(f.rows) + f.flooded
