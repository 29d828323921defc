"""One colour per model / provider, the same on every page (stable hash into a palette)."""

from __future__ import annotations

import hashlib

import plotly.express as px

PALETTE = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24


def color_for(name: str) -> str:
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return PALETTE[digest % len(PALETTE)]
