"""The sidebar filters as a value, and the fixed SQL text that applies them.

Filter values reach SQL only as bind parameters (``$start``, ``$end``, ``$models``, ...). The SQL
text is built from fixed fragments chosen by allow-listed names (dimension and time-bucket
names), never from user input. An empty selection means "all".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

# Dimension name -> (bind parameter, column). Only these names can appear in a WHERE clause.
DIMENSIONS: dict[str, str] = {"model": "models", "provider": "providers", "app": "apps"}

# Team and tag selections keep whole apps (the marts are per app): the apps whose requests carried
# a selected team / tag in the period, read from app_dimensions_daily. Fixed text; values are binds.
APP_SCOPE_TABLE = "app_dimensions_daily"
_APP_SCOPE = (
    "app IN (SELECT d.app FROM app_dimensions_daily d WHERE d.day BETWEEN $start AND $end"
    " AND (len(CAST($teams AS VARCHAR[])) = 0 OR list_contains(CAST($teams AS VARCHAR[]), d.team))"
    " AND (len(CAST($tags AS VARCHAR[])) = 0 OR list_has_any(CAST($tags AS VARCHAR[]), d.tags)))"
)

# Time column expressions a mart may be filtered on (allow-list).
DAY_COLUMNS: dict[str, str] = {
    "day": "day",
    "hour": "CAST(hour AS DATE)",
    # monthly marts (day = the month's first day): the month overlaps the period iff the period's
    # start clamped into the month lies in the period
    "month": "least(greatest(CAST($start AS DATE), day), last_day(day))",
}

# Time buckets for the day/week/month toggle: grain -> SQL expression over a DATE column `day`.
GRAINS: dict[str, str] = {
    "day": "day",
    "week": "CAST(date_trunc('week', day) AS DATE)",
    "month": "CAST(date_trunc('month', day) AS DATE)",
}


@dataclass(frozen=True)
class Filters:
    """Selected period (inclusive UTC days), dimension selections (empty = all) and time grain."""

    start: dt.date
    end: dt.date
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    grain: str = "week"
    teams: tuple[str, ...] = ()  # keep the apps whose requests carried one of these teams in the period
    tags: tuple[str, ...] = ()  # ... and one of these tags

    @property
    def scoped(self) -> bool:
        """A team or tag selection is active (it filters through the app dimension)."""
        return bool(self.teams or self.tags)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The period of equal length just before this one (same dimension selections)."""
        return replace(self, start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(days=1))

    def where(self, dims: tuple[str, ...] = ("model", "provider", "app"), day: str = "day") -> str:
        """WHERE-clause text (no leading WHERE) for a table having the given dimensions."""
        parts = [f"{DAY_COLUMNS[day]} BETWEEN $start AND $end"]
        for dim in dims:
            param = DIMENSIONS[dim]
            parts.append(
                f"(len(CAST(${param} AS VARCHAR[])) = 0 OR list_contains(CAST(${param} AS VARCHAR[]), {dim}))"
            )
        if self.scoped and "app" in dims:
            parts.append(_APP_SCOPE)
        return " AND ".join(parts)

    def params(self, dims: tuple[str, ...] = ("model", "provider", "app")) -> dict[str, object]:
        """Bind parameters matching :meth:`where` with the same ``dims``."""
        out: dict[str, object] = {"start": self.start, "end": self.end}
        for dim in dims:
            param = DIMENSIONS[dim]
            out[param] = list(getattr(self, param))
        if self.scoped and "app" in dims:
            out["teams"], out["tags"] = list(self.teams), list(self.tags)
        return out

    def ignored(self, dims: tuple[str, ...]) -> list[str]:
        """Selected dimensions a table cannot be filtered by (to say so under its chart)."""
        out = [dim for dim, param in DIMENSIONS.items() if dim not in dims and getattr(self, param)]
        if "app" not in dims:
            out += [dim for dim, sel in (("team", self.teams), ("tag", self.tags)) if sel]
        return out


def bucket(grain: str) -> str:
    """SQL expression bucketing the DATE column ``day`` by ``grain`` (allow-listed)."""
    try:
        return GRAINS[grain]
    except KeyError:
        raise ValueError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}") from None


DEFAULT_GRAIN = "month"  # the pages open on the whole history by month: the year-long rise is the story


def default_period(first: dt.date, last: dt.date, days: int | None = None) -> tuple[dt.date, dt.date]:
    """The period the pages open on: the whole history (``days`` = None), else the last ``days``
    days of the data (or all of it when shorter)."""
    if days is None:
        return first, last
    return max(first, last - dt.timedelta(days=days - 1)), last
