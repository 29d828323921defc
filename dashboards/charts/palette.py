"""Stable colours: one per model / provider / app on every page (hash into a fixed palette).

Tiers and named series (headline vs when-offered, p50 vs p95 ...) get fixed colours.
"""

from __future__ import annotations

import hashlib

import plotly.express as px

PALETTE: list[str] = list(px.colors.qualitative.Dark24) + list(px.colors.qualitative.Light24)

TIER_COLORS: dict[str, str] = {
    "frontier": "#6F42C1",
    "small": "#20A39E",
    "specialty": "#F29E4C",
    "other": "#9AA0A6",
}

SERIES_COLORS: dict[str, str] = {
    "tool-call rate": "#1F77B4",
    "when tools offered": "#FF7F0E",
    "reasoning share": "#9467BD",
    "reported": "#2CA02C",
    "not reported": "#BDBDBD",
    "p50": "#1F77B4",
    "p95": "#D62728",
    "ttft p50": "#17BECF",
    "frontier": TIER_COLORS["frontier"],
    "small": TIER_COLORS["small"],
}

FLAGGED = "#D62728"
NOT_FLAGGED = "#4C78A8"


def color_for(name: str) -> str:
    """The colour of a model, provider or app name: the same everywhere, run after run."""
    if name in TIER_COLORS:
        return TIER_COLORS[name]
    if name in SERIES_COLORS:
        return SERIES_COLORS[name]
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return PALETTE[digest % len(PALETTE)]
