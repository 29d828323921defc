"""Stable colours: one per model / provider / app, the same on every page and every run.

The palette (:data:`PALETTE`, 16 colours) is colour-blind safe: picked greedily from Okabe-Ito and
Paul Tol's qualitative schemes so that every pair stays at least ΔE76 ≈ 11.8 apart in CIELAB under
normal vision AND under simulated deuteranopia, protanopia and tritanopia (Machado et al. 2009);
``tests/test_dashboard_figures.py`` recomputes that bound. No greys (grey means "other").

Known names get distinct colours from fixed, ordered lists: models in the order of the packaged
model catalog, providers from a fixed list of common providers (plus the canonical names of the
packaged provider alias table), apps in the sorted order the sidebar registers them
(:func:`register_apps`). Models, providers and apps never share a legend, so each list walks the
same palette. Anything else gets a colour by a stable hash. Tiers and named series are fixed.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import gatewaylens

# Greedy max-min ΔE under normal + 3 simulated colour-vision deficiencies (see the module docstring).
PALETTE: list[str] = [
    "#0072B2", "#E69F00", "#663333", "#99DDFF", "#EEDD88", "#222255", "#EE6677", "#AA3377",
    "#666633", "#44BB99", "#999933", "#77AADD", "#FFAABB", "#225555", "#CC79A7", "#EE8866",
]
MODEL_PALETTE: list[str] = PALETTE
PROVIDER_PALETTE: list[str] = PALETTE
_APPS: dict[str, str] = {}

KNOWN_PROVIDERS: tuple[str, ...] = (
    "openai", "anthropic", "google-vertex", "google-ai-studio", "amazon-bedrock", "azure", "together",
    "fireworks", "deepinfra", "novita", "mistral", "deepseek", "groq", "cerebras", "lambda", "nebius",
)

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
    **TIER_COLORS,
}

FLAGGED = "#D62728"
NOT_FLAGGED = "#4C78A8"

_DATA = Path(gatewaylens.__file__).parent / "data"


def _column(path: Path, column: str) -> list[str]:
    try:
        with path.open(newline="") as fh:
            return [row[column] for row in csv.DictReader(fh) if row.get(column)]
    except (OSError, KeyError):
        return []


@functools.cache
def _known() -> dict[str, str]:
    colours: dict[str, str] = {}
    models = list(dict.fromkeys(_column(_DATA / "model_catalog.csv", "model")))
    for i, model in enumerate(models):
        colours[model] = MODEL_PALETTE[i % len(MODEL_PALETTE)]
    providers = list(dict.fromkeys([*KNOWN_PROVIDERS, *sorted(_column(_DATA / "provider_aliases.csv", "provider"))]))
    for i, provider in enumerate(providers):
        colours.setdefault(provider, PROVIDER_PALETTE[i % len(PROVIDER_PALETTE)])
    return colours


def register_apps(apps: list[str]) -> None:
    """Give the data's apps distinct palette colours in sorted order (called with the sidebar's
    option list: the same data gives the same colours on every page and in every session)."""
    for i, app in enumerate(sorted(set(apps))):
        _APPS.setdefault(app, PALETTE[i % len(PALETTE)])


def color_for(name: str) -> str:
    """The colour of a model, provider or app name: the same everywhere, run after run."""
    if name in SERIES_COLORS:
        return SERIES_COLORS[name]
    known = _known().get(name) or _APPS.get(name)
    if known is not None:
        return known
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return PALETTE[digest % len(PALETTE)]
