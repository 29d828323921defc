"""Provider catalogue: what each provider publishes about the prompts it receives.

Grain: one row per canonical provider slug (the names of ``data/provider_aliases.csv``, as they
appear in ``requests.provider``). The packaged CSV (``gatewaylens/data/providers.csv``) is a
**starting point compiled from the providers' published policies** — each row cites the page it
was read from (``source_url``) and when (``as_of``); ``unknown`` means the provider does not
publish it (or we did not find it). Review it against your own contracts: a zero-data-retention
agreement, a regional endpoint or an enterprise DPA changes the answer for your traffic. The CSV
named by the setting ``GATEWAYLENS_PROVIDERS`` (same columns) extends it and overrides rows with
the same ``provider``.

Columns and allowed values:

* ``retains_prompts`` — prompts/outputs kept after the response by default (abuse monitoring,
  logs): yes | no | varies (depends on model, tier or region) | unknown
* ``trains_on_prompts`` — prompts may be used to train or improve models by default: yes | no | varies | unknown
* ``zdr_available`` — a zero-data-retention option exists (self-serve or by agreement): yes | no | unknown
* ``jurisdiction`` — where prompts are processed: ';'-separated codes — ISO country (US, CN) or
  region (EU), ``REGION`` = the cloud region the customer chooses, ``GLOBAL`` = any region, or unknown
* ``gpu_ownership`` — owned | leased | unknown
* ``confidential_compute`` — prompts decrypted only inside a TEE: yes | no | unknown
* ``quantization_disclosed`` — the provider states the precision it serves models at: yes | no | unknown
* ``source_url``, ``as_of`` (ISO date), ``notes`` (free text: what the source says)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

PROVIDERS_PATH = Path(__file__).parent / "data" / "providers.csv"

ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "retains_prompts": ("yes", "no", "varies", "unknown"),
    "trains_on_prompts": ("yes", "no", "varies", "unknown"),
    "zdr_available": ("yes", "no", "unknown"),
    "jurisdiction": None,  # codes, checked by _check_jurisdiction
    "gpu_ownership": ("owned", "leased", "unknown"),
    "confidential_compute": ("yes", "no", "unknown"),
    "quantization_disclosed": ("yes", "no", "unknown"),
}
COLUMNS: tuple[str, ...] = ("provider", *ATTRIBUTES, "source_url", "as_of", "notes")
SCHEMA: dict[str, pl.DataType] = {c: pl.String() for c in COLUMNS}

TABLE = "provider_catalog"
TABLE_DOCS: dict[str, str] = {
    "provider": "Canonical provider slug (joins requests.provider).",
    "retains_prompts": "'yes' | 'no' | 'varies' | 'unknown': prompts/outputs kept after the response by default.",
    "trains_on_prompts": "'yes' | 'no' | 'varies' | 'unknown': prompts may train or improve models by default.",
    "zdr_available": "'yes' | 'no' | 'unknown': a zero-data-retention option exists.",
    "jurisdiction": "Where prompts are processed: ';'-separated codes (US, EU, CN, ...), REGION = customer-chosen cloud region, GLOBAL = any, or unknown.",
    "gpu_ownership": "'owned' | 'leased' | 'unknown': who owns the serving hardware.",
    "confidential_compute": "'yes' | 'no' | 'unknown': prompts decrypted only inside a trusted execution environment.",
    "quantization_disclosed": "'yes' | 'no' | 'unknown': the provider states the precision it serves models at.",
    "source_url": "The published page the row was compiled from.",
    "as_of": "When the source was read (ISO date).",
    "notes": "What the source says, in short (and secondary sources, if any).",
}


def _check_jurisdiction(value: str) -> bool:
    codes = [c.strip() for c in value.split(";")]
    return all(c == "unknown" or c in ("REGION", "GLOBAL") or (c.isalpha() and c.isupper() and len(c) == 2) for c in codes)


def _read(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, schema_overrides=SCHEMA, infer_schema=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"provider catalogue {path}: missing columns {missing}")
    frame = frame.select(COLUMNS).with_columns(pl.col(c).str.strip_chars() for c in COLUMNS).with_columns(
        pl.col(c).fill_null("unknown").str.to_lowercase() for c in ATTRIBUTES if c != "jurisdiction"
    ).with_columns(pl.col("jurisdiction").fill_null("unknown"))
    for col, allowed in ATTRIBUTES.items():
        if allowed is None:
            bad = [p for p, v in zip(frame["provider"], frame[col], strict=True) if not _check_jurisdiction(v)]
        else:
            bad = frame.filter(~pl.col(col).is_in(allowed))["provider"].to_list()
        if bad:
            raise ValueError(f"provider catalogue {path}: invalid {col} for {bad} (allowed: {allowed or 'codes'})")
    if frame["provider"].is_duplicated().any():
        raise ValueError(f"provider catalogue {path}: duplicate providers {frame.filter(pl.col('provider').is_duplicated())['provider'].unique().to_list()}")
    return frame


def load_providers(path: Path | str | None = None, *, use_env: bool = True) -> pl.DataFrame:
    """The provider catalogue (one row per provider, sorted). ``path`` replaces the packaged CSV;
    with ``use_env`` the CSV of the setting ``providers`` (``GATEWAYLENS_PROVIDERS``) extends it
    and overrides rows with the same ``provider``."""
    frame = _read(Path(path) if path is not None else PROVIDERS_PATH)
    if use_env:
        from gatewaylens.config import settings

        override = settings().providers
        if override:
            extra = _read(Path(override))
            frame = pl.concat([frame.filter(~pl.col("provider").is_in(extra["provider"].implode())), extra])
    return frame.sort("provider")


def refresh_provider_catalog(con) -> int:
    """(Re)write table ``provider_catalog`` from :func:`load_providers`; returns the row count.
    Opens no transaction of its own."""
    frame = load_providers()
    cols = ", ".join(f"{c} VARCHAR" + (" NOT NULL" if c == "provider" else "") for c in COLUMNS)
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({cols})")
    con.register("_gl_providers", frame.to_arrow())
    try:
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(f"INSERT INTO {TABLE} SELECT {', '.join(COLUMNS)} FROM _gl_providers")
    finally:
        con.unregister("_gl_providers")
    return frame.height
