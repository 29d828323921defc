"""List prices with validity intervals, from genai-prices, for estimating cost where none was logged.

Grain of the price table: one row per (model_raw, provider, validity interval, input-token tier).
Columns: ``valid_from`` .. ``valid_to`` (UTC days, end exclusive: genai-prices starts a price on a
UTC date), ``tod_lo`` .. ``tod_hi`` (time of day, see below), ``tier_lo`` < input_tokens <= ``tier_hi`` (threshold pricing: crossing a tier prices
ALL tokens at the tier's rate, as genai-prices and the vendors do), USD per million tokens for
``input_mtok``, ``output_mtok``, ``cache_read_mtok``, ``cache_write_mtok``, ``reasoning_mtok``
(NULL = that kind of token is not priced separately) and ``request_usd`` (a per-request fee).

Which price a request gets (:func:`price_model`):

1. the model catalog CSV (packaged or ``GATEWAYLENS_CATALOG``) when it gives prices for the
   request's slug: the project's override, valid for all time;
2. genai-prices' entry for the serving provider (Bedrock, Azure, Vertex, Together, Groq, …), when
   genai-prices lists the model for that provider;
3. genai-prices' entry of the model's vendor (OpenAI, Anthropic, Google, …: list price), else
   OpenRouter's listing of the slug.

Cost of one request (the rule of genai-prices' ``calc_price``, computed in SQL by
:func:`estimate_sql`): tokens of a priced kind are taken out of their parent and priced at their
own rate — uncached input = input_tokens − cached_tokens (when cache reads are priced) −
cache_write_tokens (when cache writes are priced); output = output_tokens − reasoning_tokens
(only when reasoning has its own rate; otherwise reasoning is billed as output, as every vendor
does). ``input_tokens`` is the whole prompt, cached and cache-written tokens included.

Time-of-day prices (DeepSeek's off-peak hours) are rows with a ``tod_lo`` .. ``tod_hi`` window
(microseconds of the UTC day). Not modelled: request-context variants (batch, flex/priority
service tiers), audio/image/web-search units.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    import polars as pl

from gatewaylens import identity

# Our provider slugs -> genai-prices provider ids (for provider-specific prices).
PROVIDER_TO_GP: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "amazon-bedrock": "aws",
    "azure": "azure",
    "google-vertex": "google",
    "google-ai-studio": "google",
    "google": "google",
    "together": "together",
    "groq": "groq",
    "fireworks": "fireworks",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "x-ai": "x-ai",
    "xai": "x-ai",
    "cerebras": "cerebras",
    "novita": "novita",
    "cohere": "cohere",
    "moonshotai": "moonshotai",
    "perplexity": "perplexity",
    "baseten": "baseten",
    "openrouter": "openrouter",
}

PRICE_KEYS: dict[str, str] = {  # our column -> genai-prices price key
    "input_mtok": "input_mtok",
    "output_mtok": "output_mtok",
    "cache_read_mtok": "cache_read_mtok",
    "cache_write_mtok": "cache_write_mtok",
    "reasoning_mtok": "output_reasoning_mtok",
}

EPOCH = dt.date(1970, 1, 1)
FOREVER = dt.date(9999, 12, 31)
NO_TIER = 2**62

PRICE_SCHEMA = pa.schema([
    ("model_raw", pa.string()), ("provider", pa.string()),
    ("valid_from", pa.date32()), ("valid_to", pa.date32()), ("tod_lo", pa.int64()), ("tod_hi", pa.int64()),
    ("tier_lo", pa.int64()), ("tier_hi", pa.int64()),
    *[(c, pa.float64()) for c in PRICE_KEYS], ("request_usd", pa.float64()),
    ("price_ref", pa.string()),
])


@functools.cache
def _providers() -> dict:
    from genai_prices.data import providers

    return {p.id: p for p in providers}


def _refs(raw: str, slug: str) -> list[str]:
    """Spellings to look a model up by: the raw id, its peeled readings, the slug and its name."""
    out = [raw.strip().lower()]
    out += [name for _, name in identity._peel(raw.strip().lower())[::-1]]
    out += [slug.lower(), slug.lower().split("/", 1)[-1]]
    return list(dict.fromkeys(out))


def price_model(raw: str, slug: str, provider: str | None):
    """(genai-prices ModelInfo, reference text) pricing this request, or (None, None)."""
    gp = _providers()
    refs = _refs(raw, slug)
    pid = PROVIDER_TO_GP.get(provider or "")
    if pid is not None and pid in gp:
        if pid == "fireworks":  # Fireworks names its models accounts/fireworks/models/<name>
            refs = refs + [f"accounts/fireworks/models/{r.rsplit('/', 1)[-1]}" for r in refs]
        for ref in refs:
            model = gp[pid].find_model(ref, all_providers=list(gp.values()))
            if model is not None:
                return model, f"genai-prices:{pid}:{model.id}"
    vendor = slug.split("/", 1)[0] if "/" in slug else None
    for vid, prefix in identity.GP_VENDORS.items():
        if prefix == vendor:
            for ref in refs:
                model = gp[vid].find_model(ref)
                if model is not None:
                    return model, f"genai-prices:{vid}:{model.id}"
    model = gp["openrouter"].find_model(slug.lower())
    if model is not None:
        return model, f"genai-prices:openrouter:{model.id}"
    return None, None


def _num(v) -> float | None:
    return None if v is None else float(v)


def _at(value, tokens: int) -> float | None:
    """A price at ``tokens`` input tokens (threshold tiers: the highest tier the prompt exceeds)."""
    from genai_prices.types import TieredPrices

    if value is None:
        return None
    if isinstance(value, TieredPrices):
        price = value.base
        for tier in reversed(value.tiers):
            if tokens > tier.start:
                price = tier.price
                break
        return float(price)
    return float(value)


def _start_dates(model) -> list[dt.date]:
    from genai_prices.types import StartDateConstraint

    if not isinstance(model.prices, list):
        return []
    return sorted({c.constraint.start_date for c in model.prices if isinstance(c.constraint, StartDateConstraint)})


DAY_US = 86_400_000_000


def _day_segments(model) -> list[tuple[int, int]]:
    """[lo, hi) microseconds of the UTC day between the model's time-of-day price boundaries
    (DeepSeek's off-peak hours); one whole-day segment for most models."""
    from genai_prices.types import TimeOfDateConstraint

    cuts = {0, DAY_US}
    if isinstance(model.prices, list):
        for c in model.prices:
            if isinstance(c.constraint, TimeOfDateConstraint):
                for t in (c.constraint.start_time, c.constraint.end_time):
                    u = dt.datetime.combine(dt.date(2000, 1, 1), t)
                    u = (u.replace(tzinfo=dt.UTC) if u.tzinfo is None else u).astimezone(dt.UTC)
                    cuts.add((u.hour * 3600 + u.minute * 60 + u.second) * 1_000_000 + u.microsecond)
    edges = sorted(cuts)
    return list(zip(edges, edges[1:]))


def model_intervals(model) -> list[dict]:
    """Price rows (validity interval x time of day x input-token tier) of one genai-prices model.
    Each row's prices are genai-prices' own selection (``get_prices``) at an instant inside it."""
    from genai_prices.types import TieredPrices

    starts = _start_dates(model)
    bounds = [EPOCH, *[d for d in starts if d > EPOCH], FOREVER]
    rows = []
    for lo, hi in zip(bounds, bounds[1:]):
        probe_day = (starts[0] - dt.timedelta(days=1)) if (lo == EPOCH and starts) else lo
        for tod_lo, tod_hi in _day_segments(model):
            instant = dt.datetime.combine(probe_day, dt.time(0), tzinfo=dt.UTC) + dt.timedelta(microseconds=tod_lo)
            mp = model.get_prices(instant)
            values = {c: getattr(mp, k, None) for c, k in PRICE_KEYS.items()}
            if values["cache_write_mtok"] is None:
                values["cache_write_mtok"] = getattr(mp, "cache_write_5m_mtok", None)
            if values["input_mtok"] is None and values["output_mtok"] is None:
                continue  # not priced per token (images, audio, embeddings by request)
            thresholds = sorted({t.start for v in values.values() if isinstance(v, TieredPrices) for t in v.tiers})
            tiers = [-1, *thresholds, NO_TIER]
            per_request = getattr(mp, "requests_kcount", None)
            for t_lo, t_hi in zip(tiers, tiers[1:]):
                rows.append({
                    "valid_from": lo, "valid_to": hi, "tod_lo": tod_lo, "tod_hi": tod_hi, "tier_lo": t_lo, "tier_hi": t_hi,
                    **{c: _at(v, max(t_lo + 1, 0)) for c, v in values.items()},
                    "request_usd": None if per_request is None else float(Decimal(per_request) / 1000),
                })
    return rows


def _catalog_prices() -> dict[str, dict]:
    """{slug: catalog row} of the catalog CSV rows that give prices (cached per override file)."""
    from gatewaylens.config import settings

    extra = settings().catalog
    stamp = (str(extra), Path(extra).stat().st_mtime_ns) if extra and Path(extra).exists() else (str(extra), 0)
    return _catalog_prices_for(stamp)


@functools.lru_cache(maxsize=8)
def _catalog_prices_for(stamp: tuple) -> dict[str, dict]:
    from gatewaylens.catalog import load_catalog

    cat = load_catalog(prices=False)
    return {r["model"]: r for r in cat.iter_rows(named=True) if r["input_usd_per_mtok"] is not None
            and r["output_usd_per_mtok"] is not None}


@functools.lru_cache(maxsize=4096)
def _genai_rows(raw: str, slug: str, provider: str | None) -> tuple[dict, ...]:
    model, ref = price_model(raw, slug, provider)
    return () if model is None else tuple({**r, "price_ref": ref} for r in model_intervals(model))


def price_rows(model_raw: str, slug: str, provider: str | None, catalog: dict[str, dict] | None = None) -> list[dict]:
    """The price table rows of one (model_raw, provider) pair (empty when no price is known)."""
    catalog = _catalog_prices() if catalog is None else catalog
    key = {"model_raw": model_raw, "provider": provider or ""}
    if slug in catalog:
        c = catalog[slug]
        return [{**key, "valid_from": EPOCH, "valid_to": FOREVER, "tod_lo": 0, "tod_hi": DAY_US, "tier_lo": -1, "tier_hi": NO_TIER,
                 "input_mtok": c["input_usd_per_mtok"], "output_mtok": c["output_usd_per_mtok"],
                 "cache_read_mtok": c["cached_input_usd_per_mtok"], "cache_write_mtok": c.get("cache_write_usd_per_mtok"),
                 "reasoning_mtok": None, "request_usd": None, "price_ref": f"catalog:{slug}"}]
    return [{**key, **r} for r in _genai_rows(model_raw, slug, provider)]


def price_table_rows(pairs: Iterable[tuple[str, str | None]]) -> list[dict]:
    """Price rows (columns of PRICE_SCHEMA) for distinct (model_raw, provider) pairs (slugs from the
    identity resolver)."""
    r = identity.resolver()
    catalog = _catalog_prices()
    rows: list[dict] = []
    for raw, provider in sorted({p for p in pairs if p[0] is not None}, key=lambda p: (p[0], p[1] or "")):
        rows += price_rows(raw, r.resolve(raw).model, provider, catalog)
    return rows


def price_table(pairs: Iterable[tuple[str, str | None]]) -> pa.Table:
    """Price rows for distinct (model_raw, provider) pairs, as an Arrow table."""
    return pa.Table.from_pylist(price_table_rows(pairs), schema=PRICE_SCHEMA)


def register_price_table(con: duckdb.DuckDBPyConnection, pairs_sql: str, name: str = "_gl_prices") -> int:
    """Create temp table ``name`` with the price rows of the distinct (model_raw, provider) pairs
    that ``pairs_sql`` (package SQL, two VARCHAR columns) returns. Returns its row count."""
    pairs = [tuple(row) for row in con.sql(pairs_sql).fetchall()]
    return identity.temp_table(con, name, PRICE_SCHEMA, price_table_rows(pairs))


def join_sql(p: str, model_raw: str, provider: str, ts: str, input_tokens: str) -> str:
    """The ON condition matching a request (timestamp ``ts``, TIMESTAMPTZ) to its one price row
    (alias ``p``): raw id, provider, UTC day, UTC time of day and input-token tier."""
    day = f"CAST(timezone('UTC', {ts}) AS DATE)"
    return (f"{p}.model_raw = {model_raw} AND {p}.provider = coalesce({provider}, '') "
            f"AND {day} >= {p}.valid_from AND {day} < {p}.valid_to "
            f"AND epoch_us({ts}) % {DAY_US} >= {p}.tod_lo AND epoch_us({ts}) % {DAY_US} < {p}.tod_hi "
            f"AND {input_tokens} > {p}.tier_lo AND {input_tokens} <= {p}.tier_hi")


def estimate_sql(p: str, input_tokens: str, cached: str, cache_write: str, output: str, reasoning: str) -> str:
    """USD list-price cost of a request from its price row ``p`` (NULL when there is none)."""
    cr = f"coalesce({cached}, 0)"
    cw = f"coalesce({cache_write}, 0)"
    rs = f"coalesce({reasoning}, 0)"
    return f"""CASE WHEN {p}.model_raw IS NULL THEN NULL ELSE (
        greatest({input_tokens} - CASE WHEN {p}.cache_read_mtok IS NOT NULL THEN {cr} ELSE 0 END
                                - CASE WHEN {p}.cache_write_mtok IS NOT NULL THEN {cw} ELSE 0 END, 0) * coalesce({p}.input_mtok, 0)
        + {cr} * coalesce({p}.cache_read_mtok, 0)
        + {cw} * coalesce({p}.cache_write_mtok, 0)
        + greatest({output} - CASE WHEN {p}.reasoning_mtok IS NOT NULL THEN {rs} ELSE 0 END, 0) * coalesce({p}.output_mtok, 0)
        + {rs} * coalesce({p}.reasoning_mtok, 0)
    ) / 1e6 + coalesce({p}.request_usd, 0) END"""


def frame(pairs: Iterable[tuple[str, str | None]]) -> pl.DataFrame:
    """The price table as a polars frame (for inspection and tests)."""
    import polars as pl  # (not at import: polars costs ~0.3 s of every CLI run)

    return pl.from_arrow(price_table(pairs))
