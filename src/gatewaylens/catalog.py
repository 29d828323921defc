"""Model catalog: tier, list prices and reasoning-reporting behaviour per model.

Grain: one row per model slug (``vendor/model``). Prices are USD per million tokens
(``cached_input_usd_per_mtok`` applies to the cached part of the prompt). ``reports_reasoning``:
``yes`` = the model reports reasoning tokens, ``zero`` = it always reports 0 (non-reasoning
model), ``no`` = the field is absent (NULL). ``tier`` is one of frontier, small, specialty, other.

The packaged CSV (``gatewaylens/data/model_catalog.csv``) is the default. If the environment
variable ``GATEWAYLENS_CATALOG`` names a CSV with the same columns, its rows extend the catalog
and override packaged rows with the same ``model``.

Prices: a price left blank in the CSV is filled from genai-prices (its current list price for the
slug: the vendor's own price, else OpenRouter's; base tier; see :mod:`gatewaylens.prices`). A
price written in the CSV overrides genai-prices, for the catalog and for cost estimates alike.
The packaged CSV leaves prices blank except for models genai-prices does not price.
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
    "cache_write_usd_per_mtok": pl.Float64(),
    "reports_reasoning": pl.String(),
}
OPTIONAL_COLUMNS = ("cache_write_usd_per_mtok",)  # an override CSV written before it existed still loads


def _read(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, schema_overrides=CATALOG_SCHEMA)
    frame = frame.with_columns(pl.lit(None, pl.Float64()).alias(c) for c in OPTIONAL_COLUMNS if c not in frame.columns)
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


def load_catalog(path: Path | str | None = None, *, use_env: bool = True, prices: bool = True) -> pl.DataFrame:
    """The model catalog as a frame (one row per model, sorted by model).

    ``path`` replaces the packaged CSV; with ``use_env`` (default) rows from the CSV named by
    ``$GATEWAYLENS_CATALOG`` extend it and override rows with the same ``model``. With ``prices``
    (default) blank prices are filled from genai-prices; ``prices=False`` gives the CSV as written.
    """
    frame = _read(Path(path) if path is not None else CATALOG_PATH)
    from gatewaylens.config import settings

    override = settings().catalog if use_env else None
    if override:
        extra = _read(Path(override))
        frame = pl.concat([frame.filter(~pl.col("model").is_in(extra["model"].implode())), extra])
    frame = frame.unique(subset="model", keep="last").sort("model")
    return _with_list_prices(frame) if prices else frame


PRICE_COLUMNS = {"input_usd_per_mtok": "input_mtok", "output_usd_per_mtok": "output_mtok",
                 "cached_input_usd_per_mtok": "cache_read_mtok", "cache_write_usd_per_mtok": "cache_write_mtok"}


def list_price(model: str) -> dict[str, float | None]:
    """genai-prices' current list price of a slug (base tier), {} when it has none."""
    from gatewaylens import prices

    info, _ = prices.price_model(model, model, None)
    noon = prices.DAY_US // 2  # the standard (peak) price where a model has off-peak hours
    rows = [r for r in prices.model_intervals(info) if r["valid_to"] == prices.FOREVER and r["tier_lo"] == -1
            and r["tod_lo"] <= noon < r["tod_hi"]] if info else []
    return {c: rows[0][k] for c, k in PRICE_COLUMNS.items()} if rows else {}


def _with_list_prices(frame: pl.DataFrame) -> pl.DataFrame:
    blank = frame.filter(pl.any_horizontal(pl.col(c).is_null() for c in PRICE_COLUMNS))["model"].to_list()
    if not blank:
        return frame
    found = {m: list_price(m) for m in blank}
    fill = pl.DataFrame(
        [{"model": m, **{f"_gp_{c}": p.get(c) for c in PRICE_COLUMNS}} for m, p in found.items()],
        schema={"model": pl.String(), **{f"_gp_{c}": pl.Float64() for c in PRICE_COLUMNS}},
    )
    return (frame.join(fill, on="model", how="left")
            .with_columns(pl.coalesce(c, f"_gp_{c}").alias(c) for c in PRICE_COLUMNS)
            .select(list(CATALOG_SCHEMA)))
