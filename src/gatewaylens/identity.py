"""Model identity: one canonical ``vendor/model`` slug (OpenRouter's convention) per model,
whatever the source spells it.

A gateway log names a model the way the serving API does: ``gpt-4.1-2025-04-14``,
``claude-sonnet-4-20250514``, ``us.anthropic.claude-sonnet-4-20250514-v1:0``, a Bedrock
inference-profile ARN, ``claude-3-5-sonnet-v2@20241022`` (Vertex),
``accounts/fireworks/models/llama-v3p1-70b-instruct``, ``meta-llama/Llama-3.3-70B-Instruct-Turbo``
(Together), ``llama-3.3-70b-versatile`` (Groq), ``azure/my-gpt4o-deployment`` (LiteLLM) …
:func:`resolve` turns each into ``openai/gpt-4.1``, ``anthropic/claude-sonnet-4``,
``meta-llama/llama-3.1-70b-instruct`` and so on. Resolution order:

1. the override table: the packaged ``data/model_aliases.csv`` plus the CSV named by
   ``GATEWAYLENS_MODEL_ALIASES`` (Azure deployment names and anything else site-specific; its rows
   win). Every target slug of the table and of the model catalog also maps to itself;
2. peeling the wrappers a source adds (ARNs, LiteLLM routing prefixes such as ``bedrock/`` or
   ``together_ai/``, Google resource paths, Fireworks ``accounts/…/models/``, Vertex ``@version``,
   Bedrock region and vendor prefixes and ``-v1:0`` suffixes), then looking each candidate up —
   again in the override table, then in genai-prices' OpenRouter catalogue (its ids are the slugs
   we want, its match rules know dated and ``:beta`` spellings), trying a few spelling variants
   (serving suffixes like ``-turbo``/``-fp8``/``-versatile``, ``llama3-1``/``llama-v3p1`` →
   ``llama-3.1``, date suffixes);
3. genai-prices' vendor catalogues (OpenAI, Anthropic, Google, Mistral, xAI, DeepSeek, …), whose
   match rules know the vendor's own dated ids; the vendor's model id becomes the slug
   (``claude-sonnet-4-0`` → ``anthropic/claude-sonnet-4``) and OpenRouter's spelling of it is
   preferred when OpenRouter lists it.

An id none of these recognises is kept as given (``recognised = False``); the Data quality page
lists such ids with request counts so they can be added to the override CSV.

Everything here runs once per DISTINCT raw id (results are cached); ingest joins the resulting
mapping table in SQL (:func:`register_model_map`), so resolution stays vectorised.
Only the genai-prices snapshot shipped with the installed package is read; nothing is fetched.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    import polars as pl

from gatewaylens.config import settings

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_ALIASES_PATH = DATA_DIR / "model_aliases.csv"
CATALOG_PATH = DATA_DIR / "model_catalog.csv"

# genai-prices provider id of a model vendor -> the vendor prefix of the slug (OpenRouter's).
GP_VENDORS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "mistral": "mistralai",
    "x-ai": "x-ai",
    "deepseek": "deepseek",
    "moonshotai": "moonshotai",
    "cohere": "cohere",
    "zhipuai": "z-ai",
    "minimax": "minimax",
}

# A vendor/org prefix as sources spell it -> the slug's vendor prefix.
VENDOR_ALIASES: dict[str, str] = {
    "meta": "meta-llama",
    "meta-llama": "meta-llama",
    "mistral": "mistralai",
    "mistralai": "mistralai",
    "deepseek-ai": "deepseek",
    "deepseek": "deepseek",
    "qwen": "qwen",
    "alibaba": "qwen",
    "google": "google",
    "gemini": "google",
    "moonshotai": "moonshotai",
    "moonshot": "moonshotai",
    "zai-org": "z-ai",
    "zai": "z-ai",
    "z-ai": "z-ai",
    "xai": "x-ai",
    "x-ai": "x-ai",
    "openai": "openai",
    "anthropic": "anthropic",
    "amazon": "amazon",
    "cohere": "cohere",
    "ai21": "ai21",
    "minimax": "minimax",
    "nvidia": "nvidia",
    "microsoft": "microsoft",
}

# LiteLLM / gateway routing prefixes that say how a model was reached, not who made it.
ROUTES: frozenset[str] = frozenset({
    "bedrock", "bedrock_converse", "converse", "invoke", "vertex_ai", "vertex_ai_beta", "together_ai",
    "groq", "deepinfra", "fireworks_ai", "azure", "azure_ai", "openrouter", "sagemaker", "ollama",
    "ollama_chat", "hosted_vllm", "vllm", "watsonx", "databricks", "cerebras", "sambanova", "nvidia_nim",
    "perplexity", "huggingface", "replicate", "novita", "nebius", "hyperbolic", "lambda_ai", "text-completion-openai",
    "litellm_proxy", "github", "friendliai", "anyscale", "cloudflare", "workers-ai",
})

_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile|application-inference-profile|"
                  r"provisioned-model|custom-model|imported-model)/(.+)$")
_GOOGLE_PATH = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?publishers/([^/]+)/models/(.+)$")
_FIREWORKS = re.compile(r"^accounts/([^/]+)/models/(.+)$")
_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|ap|jp|au|ca|global|us-gov)\.(.+\..+)$")
_BEDROCK = re.compile(r"^"
                      r"(anthropic|meta|amazon|mistral|cohere|ai21|deepseek|qwen|openai|writer|moonshot|minimax)\.(.+)$")

# Spelling variants tried in order (each applied to the result of the previous ones).
_VARIANTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r":(free|beta|thinking|nitro|floor|online|exacto)$", ""),             # OpenRouter variant suffixes
    (r"-(\d{4}-\d{2}-\d{2}|\d{8})$", ""),                                   # dated ids
    (r"-(turbo|fp8|fp16|bf16|tput|versatile|instant|specdec|hf|awq|int4|int8|basic|preview)$", ""),
    (r"-(turbo|fp8|fp16|bf16|tput)$", ""),                                  # a second serving suffix
    (r"^meta-llama-", "llama-"),                                            # DeepInfra/Together Meta-Llama-3.1-…
    (r"^llama-?v?(\d+)p(\d+)-", r"llama-\1.\2-"),                           # Fireworks llama-v3p1-…
    (r"^llama-?(\d)-(\d)-", r"llama-\1.\2-"),                               # Bedrock llama3-1-…
    (r"^llama-?v?(\d+)-", r"llama-\1-"),                                    # Groq llama3-70b-…
    (r"^qwen(\d+)p(\d+)", r"qwen\1.\2"),                                    # Fireworks qwen2p5-…
    (r"^qwen(2(?:\.5)?)-", r"qwen-\1-"),                                    # OpenRouter qwen-2.5-…
    (r"^gemma(\d)", r"gemma-\1"),                                           # Groq gemma2-9b-it
    (r"-(4096|8192|16384|32768|131072)$", ""),                              # Groq context-size suffixes
    (r"-v\d+(\.\d+)?$", ""),                                                # Mistral -v0.1, Bedrock -v1
    (r"^(llama-[\d.]+-\d+b|mixtral-\d+x\d+b)$", r"\1-instruct"),            # Groq llama-3.3-70b(-versatile)
    (r"-instruct$", ""),                                                    # Groq kimi-k2-instruct
))


@dataclass(frozen=True)
class Resolution:
    """What :func:`resolve` made of one raw model id."""

    model: str  # the canonical slug, or the id as given when unrecognised
    recognised: bool
    via: str  # 'override' | 'openrouter' | 'genai-prices:<provider>' | 'unknown'


def _read_aliases(path: Path) -> dict[str, str]:
    with Path(path).open(newline="") as fh:
        return {r["alias"].strip().lower(): r["model"].strip()
                for r in csv.DictReader(fh) if (r.get("alias") or "").strip() and (r.get("model") or "").strip()}


def _catalog_models() -> list[str]:
    with CATALOG_PATH.open(newline="") as fh:
        return [r["model"].strip() for r in csv.DictReader(fh) if (r.get("model") or "").strip()]


@functools.cache
def _openrouter_index() -> tuple[dict[str, str], dict[str, str], list]:
    """(exact: lower-case spelling -> OpenRouter model id, bare: name without vendor -> id when
    unambiguous, models: the OpenRouter models for rule-based matching)."""
    from genai_prices.data import providers
    from genai_prices.types import ClauseEquals, ClauseOr

    orp = next(p for p in providers if p.id == "openrouter")
    exact: dict[str, str] = {}
    bare: dict[str, set[str]] = {}
    rules = []
    for m in orp.models:
        if "/" not in m.id:
            continue  # legacy bare entries: not slugs
        clauses = m.match.or_ if isinstance(m.match, ClauseOr) else [m.match]
        for c in clauses:
            if isinstance(c, ClauseEquals):
                if "/" in c.equals:
                    exact.setdefault(c.equals.lower(), m.id)
                    bare.setdefault(c.equals.lower().split("/", 1)[1], set()).add(m.id)
            else:
                rules.append((c, m.id))
    return exact, {k: next(iter(v)) for k, v in bare.items() if len(v) == 1}, rules


@functools.cache
def _gp_providers() -> dict:
    from genai_prices.data import providers

    return {p.id: p for p in providers}


def _or_lookup(slug: str) -> str | None:
    """OpenRouter's id for a ``vendor/name`` spelling (None when OpenRouter does not list it).

    genai-prices groups spellings by price, so a match can name a sibling that costs the same
    (``anthropic/claude-opus-4.1`` matches ``anthropic/claude-opus-4``): when the spelling extends
    the matched id by a version (``.1``, a digit), the spelling is the identity, not the match."""
    exact, _, rules = _openrouter_index()
    hit = exact.get(slug)
    if hit is None:
        hit = next((mid for c, mid in rules if c.is_match(slug)), None)
    if hit is None:
        return None
    if slug != hit and slug.startswith(hit) and slug[len(hit)] in ".0123456789":
        return slug
    return hit


def _or_bare(name: str) -> str | None:
    return _openrouter_index()[1].get(name)


def _variants(name: str, depth: int = 3) -> list[str]:
    """``name`` and its spelling variants up to ``depth`` rewrites, fewest rewrites first."""
    out = [name]
    frontier = [name]
    for _ in range(depth):
        nxt = []
        for cur in frontier:
            for pattern, repl in _VARIANTS:
                v = pattern.sub(repl, cur)
                if v and v not in out:
                    out.append(v)
                    nxt.append(v)
        frontier = nxt
    return out


def _peel(key: str) -> list[tuple[str | None, str]]:
    """Candidate (vendor hint, name) readings of a lower-case id, outermost first."""
    out: list[tuple[str | None, str]] = []
    vendor: str | None = None
    cur = key
    for _ in range(8):
        out.append((vendor, cur))
        if m := _ARN.match(cur):
            cur = m.group(1)
            continue
        if m := _GOOGLE_PATH.match(cur):
            vendor, cur = VENDOR_ALIASES.get(m.group(1), m.group(1)), m.group(2)
            continue
        if cur.startswith("models/"):
            cur = cur[len("models/"):]
            continue
        if m := _FIREWORKS.match(cur):
            cur = m.group(2)
            continue
        if "@" in cur:
            cur = cur.split("@", 1)[0]
            continue
        if m := _BEDROCK_REGION.match(cur):
            cur = m.group(1)
            continue
        if m := _BEDROCK.match(cur):
            vendor = VENDOR_ALIASES.get(m.group(1), m.group(1))
            out.append((vendor, re.sub(r":\d+$", "", m.group(2))))  # anthropic.claude-…-v1:0 -> claude-…-v1
            cur = re.sub(r"-v?\d+:\d+$", "", m.group(2))          # … and claude-… (gpt-oss-120b-1:0 -> gpt-oss-120b)
            continue
        head, sep, tail = cur.partition("/")
        if sep and head in ROUTES:
            cur = tail
            continue
        if sep and "/" not in tail:
            vendor, cur = VENDOR_ALIASES.get(head, head), tail
            continue
        break
    return list(dict.fromkeys(out))


def _gp_slug(provider_id: str, model_id: str) -> str:
    """The slug of a genai-prices vendor model id (``claude-sonnet-4-0`` -> ``anthropic/claude-sonnet-4``)."""
    name = model_id.lower().removesuffix("-latest")
    if provider_id == "anthropic":
        name = re.sub(r"(\d)-(\d)(?=$|-)", r"\1.\2", name)
        name = re.sub(r"\.0$", "", name)
    slug = f"{GP_VENDORS[provider_id]}/{name}"
    return _or_lookup(slug) or slug


class Resolver:
    """Resolves raw model ids through the override table and genai-prices (results cached)."""

    def __init__(self, extra_aliases: Path | None = None):
        aliases = _read_aliases(MODEL_ALIASES_PATH)
        if extra_aliases is not None:
            aliases.update(_read_aliases(extra_aliases))
        targets = {m.lower(): m for m in [*aliases.values(), *_catalog_models()]}
        self.overrides: dict[str, str] = {**targets, **aliases}
        self._cache: dict[str, Resolution] = {}

    def resolve(self, raw: str) -> Resolution:
        hit = self._cache.get(raw)
        if hit is None:
            hit = self._cache[raw] = self._resolve(raw)
        return hit

    def _resolve(self, raw: str) -> Resolution:
        key = raw.strip().lower()
        if not key:
            return Resolution(raw, False, "unknown")
        readings = _peel(key)
        for vendor, name in readings:  # 1. the override table, at every level of peeling
            for k in (f"{vendor}/{name}" if vendor else None, name):
                if k is not None and k in self.overrides:
                    return Resolution(self.overrides[k], True, "override")
        inner_first = readings[::-1]
        for vendor, name in inner_first:  # 2. OpenRouter's catalogue
            for v in _variants(name):
                hit = _or_lookup(f"{vendor}/{v}") if vendor else (_or_lookup(v) if "/" in v else _or_bare(v))
                if hit is not None:
                    return Resolution(self.overrides.get(hit, hit), True, "openrouter")
        for vendor, name in inner_first:  # 3. the vendors' own catalogues
            gp = _gp_providers()
            ids = [p for p, v in GP_VENDORS.items() if vendor in (None, v)]
            for v in _variants(name):
                for pid in ids:
                    model = gp[pid].find_model(v)
                    if model is not None:
                        slug = _gp_slug(pid, model.id)
                        if slug.split("/", 1)[1].startswith(v + "-") and "/" not in v:
                            slug = _or_lookup(f"{GP_VENDORS[pid]}/{v}") or f"{GP_VENDORS[pid]}/{v}"  # grok-4-0709 -> grok-4
                        return Resolution(self.overrides.get(slug, slug), True, f"genai-prices:{pid}")
        return Resolution(raw, False, "unknown")


@functools.cache
def _resolver_for(extra: Path | None) -> Resolver:
    return Resolver(extra)


def resolver() -> Resolver:
    """The resolver for the current settings (``GATEWAYLENS_MODEL_ALIASES``), cached per path."""
    return _resolver_for(settings().model_aliases)


def resolve(raw: str) -> Resolution:
    """The canonical slug of one raw model id (see the module docstring)."""
    return resolver().resolve(raw)


MODEL_MAP_SCHEMA = pa.schema([("model_raw", pa.string()), ("model", pa.string()), ("recognised", pa.bool_())])


def model_map_rows(raws: Iterable[str | None]) -> list[dict]:
    """The rows (model_raw, model, recognised) of the mapping table of distinct raw ids."""
    r = resolver()
    return [{"model_raw": x, "model": (res := r.resolve(x)).model, "recognised": res.recognised}
            for x in sorted({x for x in raws if x is not None})]


def model_map(raws: Iterable[str | None]) -> pa.Table:
    """The mapping table (model_raw, model, recognised) of distinct raw ids."""
    return pa.Table.from_pylist(model_map_rows(raws), schema=MODEL_MAP_SCHEMA)


def register_model_map(con: duckdb.DuckDBPyConnection, distinct_sql: str, name: str = "_gl_model_map") -> int:
    """Create temp table ``name`` (model_raw, model, recognised) for the distinct raw ids that
    ``distinct_sql`` (one VARCHAR column, package SQL) returns; ingest joins it on model_raw.
    Returns the number of distinct ids."""
    return temp_table(con, name, MODEL_MAP_SCHEMA, model_map_rows([row[0] for row in con.sql(distinct_sql).fetchall()]))


_DUCKDB_TYPES = {"string": "VARCHAR", "bool": "BOOLEAN", "date32[day]": "DATE", "int64": "BIGINT", "double": "DOUBLE"}


def temp_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, rows: list[dict], chunk: int = 256) -> int:
    """(Re)create temp table ``name`` (a package constant) with the columns of ``schema`` and
    ``rows`` (dicts by column name), inserted as bound VALUES (building an Arrow table from
    Python values imports pandas: ~0.5 s of every CLI run). Returns its row count."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ("
                + ", ".join(f'"{f.name}" {_DUCKDB_TYPES[str(f.type)]}' for f in schema) + ")")
    marks = "(" + ", ".join("?" * len(schema)) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(f"INSERT INTO {name} VALUES " + ", ".join([marks] * len(part)),
                    [row.get(f.name) for row in part for f in schema])
    return len(rows)


UNRECOGNISED_SERVED_SQL = """
    SELECT 'served' AS field, model AS model_id, count(*) AS requests, min(day) AS first_day, max(day) AS last_day
    FROM requests WHERE model IS NOT NULL GROUP BY model
"""
UNRECOGNISED_SQL = UNRECOGNISED_SERVED_SQL + """
    UNION ALL
    SELECT 'requested', model_requested, count(*), min(day), max(day)
    FROM requests WHERE model_requested IS NOT NULL GROUP BY model_requested
"""


def unrecognised(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frame`` (columns field, model_id, requests, …; :data:`UNRECOGNISED_SQL`)
    whose model id the resolver does not recognise, most requests first: ids to add to the
    override CSV (``GATEWAYLENS_MODEL_ALIASES``). Ingest stored such ids as given; after mapping
    them, re-ingest the affected days to apply the mapping."""
    import polars as pl  # (not at import: polars costs ~0.3 s of every CLI run)

    r = resolver()
    unknown = [m for m in frame["model_id"].unique().to_list() if m is not None and not r.resolve(m).recognised]
    return (frame.filter(pl.col("model_id").is_in(unknown))
            .sort(["requests", "field", "model_id"], descending=[True, False, False]))
