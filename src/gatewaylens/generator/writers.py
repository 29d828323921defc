"""Writers: simulated frame -> files in a gateway log format.

Only ``canonical`` exists so far: ``DIR/YYYY/MM/DD/requests.jsonl``, one canonical JSON object
per line (keys with null values omitted), that day's requests ordered by ``ts``. Bad lines
(``bad_rate``) are mixed in per day; see :data:`BAD_KINDS`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"

# Order matters for determinism (kinds are drawn by index).
BAD_KINDS: tuple[str, ...] = (
    "not_json",
    "json_array",
    "missing_request_id",
    "missing_ts",
    "missing_model",
    "negative_tokens",
    "reasoning_gt_output",
    "cached_gt_input",
    "bad_timestamp",
    "wrong_type",
    "duplicate",
)

_STR = "str"
_NUM = "num"
# (key, kind) in canonical field order
CANONICAL_FIELDS: tuple[tuple[str, str], ...] = (
    ("request_id", _STR),
    ("ts", "ts"),
    ("app", _STR),
    ("user", _STR),
    ("model", _STR),
    ("provider", _STR),
    ("status", _STR),
    ("http_status", _NUM),
    ("error_type", _STR),
    ("finish_reason", _STR),
    ("native_finish_reason", _STR),
    ("tools_offered", _NUM),
    ("tool_call_count", _NUM),
    ("input_tokens", _NUM),
    ("cached_tokens", _NUM),
    ("output_tokens", _NUM),
    ("reasoning_tokens", _NUM),
    ("cost_usd", _NUM),
    ("latency_ms", _NUM),
    ("ttft_ms", _NUM),
    ("streamed", _NUM),
    # issue #11 dimensions (see dims())
    ("session_id", _STR),
    ("cache_write_tokens", _NUM),
    ("team", _STR),
    ("tags", "raw"),
    ("service_tier", _STR),
    ("agent", _STR),
    ("model_requested", _STR),
)


# The #11 dimensions the simulation does not draw itself: simple, deterministic values from the
# request's app and provider (session_id and cache_write_tokens come from the simulated frame when it
# has them). Agent apps name their agent; OpenAI/Azure serve at a service tier (batch apps: flex).
APP_TEAM = {
    "chat-web": "consumer", "support-agent": "support", "code-assistant": "developer-tools",
    "research-agent": "research", "sql-copilot": "data", "docs-qa": "support", "nightly-evals": "ml-platform",
    "batch-summarizer": "data",
}
AGENT_APPS = {"support-agent": "support_agent", "code-assistant": "coding_agent",
              "research-agent": "research_agent", "sql-copilot": "sql_agent"}
BATCH_APPS = ("nightly-evals", "batch-summarizer")
TIER_PROVIDERS = ("openai", "azure")


def request_model(model: pl.Expr) -> pl.Expr:
    """The provider-independent id a client asks for ('claude-sonnet-4-5', 'gpt-5', 'gemini-2.5-pro'):
    undated, so a dated snapshot served for it is the same model, not a substitution."""
    tail = model.str.split("/").list.last()
    return pl.when(model.str.starts_with("anthropic/")).then(tail.str.replace_all(".", "-", literal=True)).otherwise(tail)


def dims(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    """The #11 dimensions of each request as columns: _team, _tags (JSON list text), _tier,
    _agent, _session, _cache_write (null where the request has none) and _requested (the slug the
    app asked for: the served model where the frame does not say)."""
    batch = pl.col("app").is_in(BATCH_APPS)

    def col(name: str, dtype) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype)
    return {
        "_team": pl.col("app").replace_strict(APP_TEAM, default=None, return_dtype=pl.String),
        "_tags": pl.when(pl.col("app").is_null()).then(None).otherwise(
            pl.lit('["prod","') + pl.when(batch).then(pl.lit("batch")).otherwise(pl.lit("interactive")) + pl.lit('"]')),
        "_tier": pl.when(pl.col("provider").is_in(TIER_PROVIDERS)).then(
            pl.when(batch).then(pl.lit("flex")).otherwise(pl.lit("default"))),
        "_agent": pl.col("app").replace_strict(AGENT_APPS, default=None, return_dtype=pl.String),
        "_session": col("session_id", pl.String),
        "_cache_write": col("cache_write_tokens", pl.Int64),
        "_requested": pl.col("model_requested") if "model_requested" in frame.columns else pl.col("model"),
    }


def _value(expr: pl.Expr, kind: str) -> pl.Expr:
    """JSON text of a value (null stays null). Strings are plain ASCII slugs/ids: no escaping needed."""
    if kind == _STR:
        return pl.lit('"') + expr + pl.lit('"')
    if kind == "ts":
        return pl.lit('"') + expr.dt.strftime(TS_FORMAT) + pl.lit('"')
    if kind == "raw":
        return expr
    return expr.cast(pl.String)


def _attempt(i: int) -> pl.Expr:
    a = pl.col("attempts").list.get(i, null_on_oob=True)
    return pl.concat_str(
        [
            pl.lit('{"provider":"'),
            a.struct.field("provider"),
            pl.lit('","http_status":'),
            a.struct.field("http_status").cast(pl.String),
            pl.lit(',"latency_ms":'),
            a.struct.field("latency_ms").cast(pl.String),
            pl.lit(',"ts":"'),
            a.struct.field("ts").dt.strftime(TS_FORMAT),
            pl.lit('"}'),
        ]
    )


def canonical_lines(frame: pl.DataFrame) -> pl.Series:
    """One canonical JSON line per row (no trailing newline); null values are omitted."""
    d = dims(frame)
    cols = {"session_id": d["_session"], "cache_write_tokens": d["_cache_write"], "team": d["_team"],
            "tags": d["_tags"], "service_tier": d["_tier"], "agent": d["_agent"],
            "model_requested": request_model(d["_requested"])}
    parts: list[pl.Expr] = [pl.lit("{")]
    for n, (key, kind) in enumerate(CANONICAL_FIELDS):
        sep = "" if n == 0 else ","
        parts.append((pl.lit(f'{sep}"{key}":') + _value(cols.get(key, pl.col(key)), kind)).fill_null(""))
    attempts = pl.concat_str([_attempt(0), (pl.lit(",") + _attempt(1)).fill_null("")])
    parts.append((pl.lit(',"attempts":[') + attempts + pl.lit("]")).fill_null(""))
    parts.append(pl.lit("}"))
    return frame.select(line=pl.concat_str(parts))["line"]


def _bad_line(kind: str, good: str, rng: np.random.Generator, j: int) -> str:
    if kind == "not_json":
        return good[: max(1, len(good) // 2)]
    obj = json.loads(good)
    obj["request_id"] = f"{obj['request_id']}-bad{j}"
    if kind == "json_array":
        return json.dumps([obj], separators=(",", ":"))
    if kind == "missing_request_id":
        del obj["request_id"]
    elif kind == "missing_ts":
        del obj["ts"]
    elif kind == "missing_model":
        del obj["model"]
    elif kind == "negative_tokens":
        obj["input_tokens"] = -int(rng.integers(1, 500))
    elif kind == "reasoning_gt_output":
        obj["reasoning_tokens"] = int(obj.get("output_tokens", 0)) + int(rng.integers(1, 200))
    elif kind == "cached_gt_input":
        obj["cached_tokens"] = int(obj.get("input_tokens", 0)) + int(rng.integers(1, 500))
    elif kind == "bad_timestamp":
        obj["ts"] = "yesterday-ish"
    elif kind == "wrong_type":
        obj["input_tokens"] = "many"
    return json.dumps(obj, separators=(",", ":"))


def _mix_bad(lines: list[str], bad_rate: float, rng: np.random.Generator, counts: Counter) -> list[str]:
    n = len(lines)
    expected = bad_rate * n
    n_bad = int(expected) + int(rng.random() < expected - int(expected))
    if n_bad == 0 or n == 0:
        return lines
    kinds = rng.integers(0, len(BAD_KINDS), n_bad)
    src = rng.integers(0, n, n_bad)
    where = rng.random(n_bad)
    inserts: list[tuple[int, int, str]] = []  # (insert before good index, order, text)
    for j in range(n_bad):
        kind = BAD_KINDS[int(kinds[j])]
        s = int(src[j])
        counts[kind] += 1
        if kind == "duplicate":
            pos = s + 1 + int(where[j] * (n - s))  # strictly after the original
            inserts.append((pos, j, lines[s]))
        else:
            inserts.append((int(where[j] * (n + 1)), j, _bad_line(kind, lines[s], rng, j)))
    inserts.sort()
    out: list[str] = []
    prev = 0
    for pos, _, text in inserts:
        out.extend(lines[prev:pos])
        out.append(text)
        prev = max(prev, pos)
    out.extend(lines[prev:])
    return out


def day_path(out: Path, day) -> Path:
    return out / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}" / "requests.jsonl"


def write_canonical_days(
    frame: pl.DataFrame, out: Path, *, bad_rate: float, seed: int, bad_counts: Counter
) -> list[Path]:
    """Write one file per UTC day of ``frame`` (sorted by ts); returns the paths written."""
    lines = canonical_lines(frame)
    days = frame["day"]
    bounds = np.flatnonzero(np.diff(days.to_physical().to_numpy())) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(frame)]])
    paths = []
    for a, b in zip(starts, ends):
        day = days[int(a)]
        path = day_path(out, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        chunk = lines.slice(int(a), int(b - a))
        if bad_rate > 0:
            rng = np.random.default_rng([seed, 7919, day.toordinal()])
            text = "\n".join(_mix_bad(chunk.to_list(), bad_rate, rng, bad_counts))
        else:
            text = chunk.str.join("\n").item()
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


WRITERS = {"canonical": write_canonical_days}


def get_writer(fmt: str, otel_batch: int = 1):
    """The day-file writer of ``fmt``; ``otel_batch`` > 1 (``otel`` only) batches that many
    requests per OTLP/JSON line."""
    if fmt in WRITERS and otel_batch == 1:
        return WRITERS[fmt]
    from gatewaylens.generator import formats as gateway_formats  # real gateway formats (lazy: it imports this module)

    gateway_formats.check_otel_batch(fmt, otel_batch)
    if fmt in gateway_formats.FORMATS:
        return gateway_formats.make_writer(fmt, otel_batch=otel_batch)
    raise ValueError(f"unknown output format {fmt!r}; available: {sorted([*WRITERS, *gateway_formats.FORMATS])}")
