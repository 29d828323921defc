"""Stable colours: one per model / provider / app, the same on every page and every run.

Known names get distinct colours from fixed, ordered lists: models in the order of the packaged
model catalog, providers from a fixed list of common providers (plus the canonical names of the
packaged provider alias table). Anything else (a model added through GATEWAYLENS_CATALOG, a new
provider, an app) gets a colour by a stable hash. Tiers and named series get fixed colours.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import plotly.express as px

import gatewaylens

PALETTE: list[str] = list(px.colors.qualitative.Dark24) + list(px.colors.qualitative.Light24)
MODEL_PALETTE: list[str] = list(px.colors.qualitative.Dark24) + list(px.colors.qualitative.Light24)
PROVIDER_PALETTE: list[str] = list(px.colors.qualitative.Bold) + list(px.colors.qualitative.Safe) + list(px.colors.qualitative.Vivid)

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


def color_for(name: str) -> str:
    """The colour of a model, provider or app name: the same everywhere, run after run."""
    if name in SERIES_COLORS:
        return SERIES_COLORS[name]
    known = _known().get(name)
    if known is not None:
        return known
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return PALETTE[digest % len(PALETTE)]
