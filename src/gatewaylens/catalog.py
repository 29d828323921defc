"""Model catalog: tier, list prices and reasoning-reporting behaviour per model.

Grain: one row per model slug (``vendor/model``). Prices are USD per million tokens
(``cached_input_usd_per_mtok`` applies to the cached part of the prompt). ``reports_reasoning``:
``yes`` = the model reports reasoning tokens, ``zero`` = it always reports 0 (non-reasoning
model), ``no`` = the field is absent (NULL). ``tier`` is one of frontier, small, specialty, other.

The packaged CSV (``gatewaylens/data/model_catalog.csv``) is the default. If the environment
variable ``GATEWAYLENS_CATALOG`` names a CSV with the same columns, its rows extend the catalog
and override packaged rows with the same ``model``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

CATALOG_PATH = Path(__file__).parent / "data" / "model_catalog.csv"

TIERS: tuple[str, ...] = ("frontier", "small", "specialty", "other")
REPORTS_REASONING: tuple[str, ...] = ("yes", "zero", "no")

CATALOG_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "vendor": pl.String(),
    "tier": pl.String(),
    "input_usd_per_mtok": pl.Float64(),
    "output_usd_per_mtok": pl.Float64(),
    "cached_input_usd_per_mtok": pl.Float64(),
    "reports_reasoning": pl.String(),
}


def _read(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, schema_overrides=CATALOG_SCHEMA)
    missing = [c for c in CATALOG_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"catalog {path}: missing columns {missing}")
    frame = frame.select(list(CATALOG_SCHEMA)).with_columns(
        pl.col("tier").str.strip_chars().str.to_lowercase(),
        pl.col("reports_reasoning").str.strip_chars().str.to_lowercase(),
    )
    bad_tier = frame.filter(~pl.col("tier").is_in(TIERS))["model"].to_list()
    bad_reason = frame.filter(~pl.col("reports_reasoning").is_in(REPORTS_REASONING))["model"].to_list()
    if bad_tier:
        raise ValueError(f"catalog {path}: unknown tier for {bad_tier} (expected one of {TIERS})")
    if bad_reason:
        raise ValueError(f"catalog {path}: unknown reports_reasoning for {bad_reason} (expected one of {REPORTS_REASONING})")
    return frame


def load_catalog(path: Path | str | None = None, *, use_env: bool = True) -> pl.DataFrame:
    """The model catalog as a frame (one row per model, sorted by model).

    ``path`` replaces the packaged CSV; with ``use_env`` (default) rows from the CSV named by
    ``$GATEWAYLENS_CATALOG`` extend it and override rows with the same ``model``.
    """
    frame = _read(Path(path) if path is not None else CATALOG_PATH)
    from gatewaylens.config import settings

    override = settings().catalog if use_env else None
    if override:
        extra = _read(Path(override))
        frame = pl.concat([frame.filter(~pl.col("model").is_in(extra["model"].implode())), extra])
    return frame.unique(subset="model", keep="last").sort("model")
