"""The canonical schema: the contract that users' SQL depends on.

Two kinds of models live here:

* :class:`CanonicalLine` — one line of the canonical JSONL input format (what a gateway, the
  generator or another format's normaliser produces). Its JSON Schema is published at
  ``src/gatewaylens/schemas/canonical_line.schema.json`` (``gatewaylens schema`` rewrites it).
* :data:`TABLES` — the warehouse tables, declared once (column, DuckDB type, nullability,
  doc). The DDL (:func:`ddl`), the row models :class:`RequestRow`, :class:`ProviderAttemptRow`,
  :class:`QuarantineRow`, :class:`IngestedFileRow`, the staged columns of the format readers
  (:func:`staged_columns`) and ingest's INSERT column lists (:func:`insert_columns`) are derived
  from it; ``tests/test_schema.py`` checks a fresh and a migrated warehouse against it.

The vectorised ingest (``ingest.py``) applies the same rules in SQL; pydantic is used to explain
precisely why a rejected line was rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

FINISH_REASONS: tuple[str, ...] = ("stop", "tool_calls", "length", "content_filter", "error", "other")
STATUSES: tuple[str, ...] = ("success", "error")

NonNegInt = Annotated[int, Field(ge=0)]
NonNegFloat = Annotated[float, Field(ge=0)]


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Naive timestamps are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


class CanonicalAttempt(BaseModel):
    """One attempt at a provider inside a canonical line's ``attempts`` list (in order)."""

    model_config = ConfigDict(extra="allow", strict=True)

    provider: str = Field(min_length=1, description="Provider tried in this attempt.")
    http_status: int | None = Field(default=None, ge=100, le=599, description="HTTP status the provider returned.")
    latency_ms: NonNegFloat | None = Field(default=None, description="Time spent on this attempt, milliseconds.")
    ts: dt.datetime | None = Field(default=None, description="Attempt start (ISO 8601); defaults to the request's ts.")

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, v: Any) -> Any:
        return _parse_timestamp(v) if v is not None else None

    @field_validator("latency_ms", mode="before")
    @classmethod
    def _int_is_float(cls, v: Any) -> Any:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _parse_timestamp(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return _as_utc(v)
    if not isinstance(v, str):
        raise ValueError(f"timestamp must be an ISO 8601 string, got {type(v).__name__}")
    try:
        return _as_utc(dt.datetime.fromisoformat(v.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError("unparseable timestamp (expected ISO 8601, e.g. 2026-01-15T08:30:00Z)") from None


class CanonicalLine(BaseModel):
    """One line of canonical JSONL: one gateway request.

    Required: ``request_id``, ``ts``, ``model``. Token counts default to 0 when absent.
    ``user`` is the raw caller id: it is hashed with the salt on ingest and never stored.
    ``attempts`` lists the provider attempts in order (failovers); when absent, one attempt at
    ``provider`` is assumed.
    """

    model_config = ConfigDict(extra="allow", strict=True, title="gatewaylens canonical request line")

    request_id: str = Field(min_length=1, description="Unique id of the request.")
    ts: dt.datetime = Field(description="Request start, ISO 8601; naive values are UTC.")
    model: str = Field(min_length=1, description="Model slug, 'vendor/model'.")
    app: str | None = Field(default=None, description="Calling application.")
    user: str | None = Field(default=None, description="Raw caller id; hashed on ingest, never stored.")
    user_hash: str | None = Field(default=None, description="Caller id already hashed upstream (used when 'user' is absent).")
    provider: str | None = Field(default=None, description="Provider that served the request.")
    status: Literal["success", "error"] | None = Field(
        default=None, description="Outcome; derived from http_status/finish_reason when absent."
    )
    http_status: int | None = Field(default=None, ge=100, le=599)
    error_type: str | None = None
    finish_reason: str | None = Field(
        default=None, description="One of stop, tool_calls, length, content_filter, error, other; unknown values map to 'other'."
    )
    native_finish_reason: str | None = None
    tools_offered: bool | None = Field(default=None, description="Whether the request offered tools (null = unknown).")
    tool_call_count: NonNegInt | None = Field(default=None, description="Tool calls in the response (default: 1 if finish_reason is tool_calls else 0).")
    input_tokens: NonNegInt = Field(default=0, description="Prompt tokens, including cached.")
    cached_tokens: NonNegInt | None = Field(default=None, description="Cached prompt tokens (part of input_tokens).")
    output_tokens: NonNegInt = Field(default=0, description="Completion tokens, including reasoning.")
    reasoning_tokens: NonNegInt | None = Field(default=None, description="Reasoning tokens (part of output_tokens); null = not reported.")
    cost_usd: NonNegFloat | None = None
    latency_ms: NonNegFloat | None = None
    ttft_ms: NonNegFloat | None = None
    streamed: bool | None = None
    attempts: list[CanonicalAttempt] | None = Field(default=None, description="Provider attempts in order, failovers included.")
    model_requested: str | None = Field(
        default=None, description="Model the caller asked for, when it may differ from the one that served (`model`)."
    )
    cache_write_tokens: NonNegInt | None = Field(
        default=None, description="Prompt tokens written to the provider's cache (part of input_tokens); null = not reported."
    )
    cancelled: bool | None = Field(default=None, description="The caller cancelled the request (null = unknown).")
    session_id: str | None = Field(
        default=None, description="Conversation/session id; salted-hashed on ingest like user ids, never stored raw."
    )
    team: str | None = Field(default=None, description="Team or cost centre the request is attributed to.")
    tags: list[str] | None = Field(default=None, description="Tags attached to the request.")
    service_tier: str | None = Field(default=None, description="Service tier the provider served at (default, flex, priority...).")
    agent: str | None = Field(default=None, description="Name of the agent that made the request.")

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, v: Any) -> Any:
        return _parse_timestamp(v)

    @field_validator("cost_usd", "latency_ms", "ttft_ms", mode="before")
    @classmethod
    def _int_is_float(cls, v: Any) -> Any:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _token_consistency(self) -> "CanonicalLine":
        if self.reasoning_tokens is not None and self.reasoning_tokens > self.output_tokens:
            raise ValueError(
                f"reasoning_tokens ({self.reasoning_tokens}) > output_tokens ({self.output_tokens}); "
                "output_tokens must include reasoning"
            )
        if self.cached_tokens is not None and self.cached_tokens > self.input_tokens:
            raise ValueError(
                f"cached_tokens ({self.cached_tokens}) > input_tokens ({self.input_tokens}); "
                "input_tokens must include cached"
            )
        if self.attempts is not None and len(self.attempts) == 0:
            raise ValueError("attempts must list at least one attempt when present")
        return self


# --------------------------------------------------------------------------------------------
# Warehouse tables: the row contract, declared once (like dlt's ``columns=``). The DDL
# (:func:`ddl`), the pydantic row models (:data:`TABLE_MODELS`), the staged columns
# (:func:`staged_columns`) and every INSERT column list (:func:`insert_columns`) derive from
# :data:`TABLES`. To add a column: append a ``Column`` at the END of its table, nullable, with
# its doc (existing warehouses get it by ALTER TABLE ADD COLUMN at the end, so old and new
# warehouses keep the same column order); a ``requests`` column with ``staged=True`` is a
# staged column every format may set (formats that do not set it stage NULL).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a warehouse table."""

    name: str
    type: str  # DuckDB type
    doc: str
    nullable: bool = True
    values: tuple[str, ...] | None = None  # allowed values (a Literal in the row model)
    staged: bool = False  # requests only: formats stage this column (same name and type)
    backfill: str | None = None  # SQL expression filling the column in rows older than it


@dataclass(frozen=True)
class Table:
    name: str
    doc: str  # grain, first line of the row model's docstring and of the data dictionary
    columns: tuple[Column, ...]

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str, doc: str, **kw: Any) -> Column:
    return Column(name, type_, doc, **kw)


REQUESTS = Table("requests", "Table ``requests`` — grain: one row per gateway request (unique ``request_id``).", (
    _c("request_id", "VARCHAR", "Unique id of the request (from the source; unique across the table).", nullable=False, staged=True),
    _c("ts", "TIMESTAMPTZ", "Request start, UTC.", nullable=False, staged=True),
    _c("day", "DATE", "UTC day of ts; every mart is partitioned by it.", nullable=False),
    _c("source_format", "VARCHAR", "Input format the row came from: canonical, openrouter, litellm, otel, envelope.",
       nullable=False, staged=True),
    _c("app", "VARCHAR", "Calling application (NULL when the source does not say).", staged=True),
    _c("user_hash", "VARCHAR", "sha256(salt || caller id), hex. The raw id is never stored.", staged=True),
    _c("model", "VARCHAR", "Normalised model slug 'vendor/model'.", nullable=False, staged=True),
    _c("provider", "VARCHAR", "Provider that served the request (the last attempt).", staged=True),
    _c("status", "VARCHAR", "'success' or 'error'.", nullable=False, values=STATUSES, staged=True),
    _c("http_status", "INTEGER", "HTTP status of the final response.", staged=True),
    _c("error_type", "VARCHAR", "Error class when status = 'error'.", staged=True),
    _c("finish_reason", "VARCHAR", "Normalised finish reason; NULL when the source does not report one.",
       values=FINISH_REASONS, staged=True),
    _c("native_finish_reason", "VARCHAR", "Finish reason as the provider reported it.", staged=True),
    _c("tools_offered", "BOOLEAN", "Request offered tools; NULL = unknown.", staged=True),
    _c("tool_call_count", "INTEGER", "Number of tool calls in the response.", nullable=False, staged=True),
    _c("input_tokens", "BIGINT", "Prompt tokens, including cached_tokens.", nullable=False, staged=True),
    _c("cached_tokens", "BIGINT", "Prompt tokens served from cache; NULL = not reported.", staged=True),
    _c("output_tokens", "BIGINT", "Completion tokens, including reasoning_tokens.", nullable=False, staged=True),
    _c("reasoning_tokens", "BIGINT", "Reasoning tokens; NULL = not reported, 0 = reported zero.", staged=True),
    _c("cost_usd", "DOUBLE", "Cost logged by the gateway, USD; NULL = not logged.", staged=True),
    _c("latency_ms", "DOUBLE", "Total latency, milliseconds.", staged=True),
    _c("ttft_ms", "DOUBLE", "Time to first token, milliseconds.", staged=True),
    _c("streamed", "BOOLEAN", "Response was streamed; NULL = unknown.", staged=True),
    _c("attempts", "INTEGER", "Provider attempts including failovers (>= 1).", nullable=False),
    _c("source_file", "VARCHAR", "Landing file the row was read from.", nullable=False),
    _c("line_no", "BIGINT", "1-based line number in source_file (the requests of an OTLP/JSON line that batches several "
       "share it).", nullable=False),
    _c("ingested_at", "TIMESTAMPTZ", "When the row was ingested, UTC.", nullable=False),
    # --- added in round 3 (issue #11); nullable, appended: existing warehouses get them by ALTER TABLE.
    _c("model_raw", "VARCHAR", "Model id exactly as the source reported it, before normalisation into `model`; "
       "NULL when the format does not capture it.", staged=True),
    _c("model_requested", "VARCHAR", "Model the caller asked for, when the source says and it may differ from the one "
       "that served (`model`), e.g. a router alias or a fallback; NULL when not reported.", staged=True),
    _c("cost_estimated_usd", "DOUBLE", "Cost estimated from the token counts and the price catalog, USD; NULL when the "
       "model's price is unknown.", staged=True),
    _c("cost_source", "VARCHAR", "Where the request's cost comes from: 'logged' (cost_usd, from the gateway), "
       "'estimated' (cost_estimated_usd) or 'unknown'.", values=("logged", "estimated", "unknown"), staged=True),
    _c("cache_write_tokens", "BIGINT", "Prompt tokens written to the provider's prompt cache (billed at the cache-write "
       "rate; part of input_tokens); NULL = not reported.", staged=True),
    _c("cancelled", "BOOLEAN", "The caller cancelled the request before it completed; NULL = unknown.", staged=True),
    _c("session_id", "VARCHAR", "Conversation or session the request belongs to: sha256(salt || 'session:' || the "
       "source's id), hex, like user_hash (the raw id is never stored); NULL when absent.", staged=True),
    _c("team", "VARCHAR", "Team (or cost centre) the request is attributed to; NULL when absent.", staged=True),
    _c("tags", "VARCHAR[]", "Tags the caller or gateway attached to the request (e.g. LiteLLM request_tags); NULL "
       "when absent.", staged=True),
    _c("service_tier", "VARCHAR", "Service tier the provider served the request at (e.g. default, flex, priority, "
       "batch); NULL = not reported.", staged=True),
    _c("agent", "VARCHAR", "Name of the agent that made the request (gen_ai.agent.name or the source's equivalent); "
       "NULL when absent.", staged=True),
))

PROVIDER_ATTEMPTS = Table("provider_attempts", "Table ``provider_attempts`` — grain: one row per attempt at a provider.", (
    _c("request_id", "VARCHAR", "The request the attempt belongs to.", nullable=False),
    _c("attempt_no", "INTEGER", "1-based order of the attempt within the request.", nullable=False),
    _c("provider", "VARCHAR", "Provider tried.", nullable=False),
    _c("http_status", "INTEGER", "HTTP status the provider returned."),
    _c("latency_ms", "DOUBLE", "Time spent on this attempt, milliseconds."),
    _c("ts", "TIMESTAMPTZ", "Attempt start, UTC.", nullable=False),
    _c("day", "DATE", "UTC day of the request (same as requests.day).", nullable=False),
))

QUARANTINE = Table("quarantine", "Table ``quarantine`` — grain: one row per rejected input record.", (
    _c("source_file", "VARCHAR", "File the line came from.", nullable=False),
    _c("line_no", "BIGINT", "1-based line number.", nullable=False),
    _c("raw_line", "VARCHAR", "What is kept of the line: its structural redaction (keys, value types and lengths; "
       "only request_id, ts, model, provider, status and numbers keep their values) or, when it is not JSON, a "
       "short prefix with every string masked. At most 8 KiB; never message content, ids or secrets.",
       nullable=False),
    _c("reason", "VARCHAR", "Why the line was rejected: a stable category such as 'invalid JSON' or "
       "'wrong type: input_tokens'.", nullable=False),
    _c("detail", "VARCHAR", "The precise explanation for this line (from the pydantic model for canonical lines): the "
       "field and the rule, never a string value of the input."),
    _c("source_format", "VARCHAR", "Format the line was detected as, when known."),
    _c("ingested_at", "TIMESTAMPTZ", "When the line was rejected, UTC.", nullable=False),
    _c("records", "BIGINT", "Rejected records this row stands for: 1, except the one row per file with reason "
       "'too many rejected records', which counts the file's rejected records past "
       "ingest_max_quarantine_rows_per_file (not stored one by one). Per file, sum(records) = "
       "ingested_files.quarantined.", backfill="1"),
))

INGESTED_FILES = Table("ingested_files", "Table ``ingested_files`` — grain: one row per (path, content) ingested.", (
    _c("path", "VARCHAR", "File path as given to ingest.", nullable=False),
    _c("content_sha256", "VARCHAR", "sha256 of the file's (decompressed) bytes.", nullable=False),
    _c("bytes", "BIGINT", "Size of the decompressed content.", nullable=False),
    _c("lines", "BIGINT", "Input lines in the file.", nullable=False),
    _c("rows_inserted", "BIGINT", "Records that became new rows of requests.", nullable=False),
    _c("duplicates", "BIGINT", "Records whose request_id was already stored or repeated in the file.", nullable=False),
    _c("quarantined", "BIGINT", "Records rejected into quarantine (a rejected line is one record, whatever it held; "
       "a file rejected as a whole is one record): the sum of the file's quarantine.records.", nullable=False),
    _c("merged", "BIGINT", "Lines folded into another line's request (e.g. retries sharing a trace).", nullable=False),
    _c("ingested_at", "TIMESTAMPTZ", "When the file was ingested, UTC.", nullable=False),
    _c("records", "BIGINT", "Records read from the file: one per line, except an OTLP/JSON line batching several "
       "requests, which is one per request. records = rows_inserted + duplicates + quarantined + merged and "
       "records >= lines. Last column because it was added later (ALTER TABLE); rows written before it have "
       "records = lines.", backfill="lines"),
))

TABLES: dict[str, Table] = {t.name: t for t in (REQUESTS, PROVIDER_ATTEMPTS, QUARANTINE, INGESTED_FILES)}

_PY_TYPES: dict[str, Any] = {
    "VARCHAR": str, "BIGINT": int, "INTEGER": int, "DOUBLE": float, "BOOLEAN": bool,
    "DATE": dt.date, "TIMESTAMPTZ": dt.datetime, "VARCHAR[]": list[str],
}


def _row_model(table: Table) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for c in table.columns:
        py: Any = Literal[c.values] if c.values else _PY_TYPES[c.type]
        fields[c.name] = (py | None if c.nullable else py, Field(description=c.doc))
    name = "".join(part.title() for part in table.name.split("_")).removesuffix("s") + "Row"
    return create_model(name, __doc__=table.doc, **fields)


RequestRow = _row_model(REQUESTS)
ProviderAttemptRow = _row_model(PROVIDER_ATTEMPTS)
QuarantineRow = _row_model(QUARANTINE)
IngestedFileRow = _row_model(INGESTED_FILES)

TABLE_MODELS: dict[str, type[BaseModel]] = {
    "requests": RequestRow,
    "provider_attempts": ProviderAttemptRow,
    "quarantine": QuarantineRow,
    "ingested_files": IngestedFileRow,
}


def ddl() -> str:
    """CREATE TABLE IF NOT EXISTS for every table (a fresh warehouse)."""
    out = ["-- gatewaylens warehouse base tables, generated from gatewaylens.schema.TABLES."]
    for t in TABLES.values():
        cols = ",\n".join(f"    {c.name:<22} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in t.columns)
        out.append(f"CREATE TABLE IF NOT EXISTS {t.name} (\n{cols}\n);")
    return "\n".join(out) + "\n"


def migration_sql(existing: dict[str, dict[str, bool]]) -> list[str]:
    """Statements bringing a warehouse whose tables have ``existing`` columns ({table: {column:
    nullable}}) to the declaration: ADD COLUMN (at the end) for a column added later, with its
    backfill, and DROP NOT NULL for a column made nullable later. Empty when it is current."""
    out: list[str] = []
    for t in TABLES.values():
        have = existing.get(t.name, {})
        for c in t.columns:
            if c.name not in have:
                if not c.nullable:
                    raise RuntimeError(f"{t.name}.{c.name} is NOT NULL and missing: a later column must be nullable")
                out.append(f"ALTER TABLE {t.name} ADD COLUMN {c.name} {c.type}")
                if c.backfill:
                    out.append(f"UPDATE {t.name} SET {c.name} = {c.backfill} WHERE {c.name} IS NULL")
            elif c.nullable and not have[c.name]:
                out.append(f"ALTER TABLE {t.name} ALTER COLUMN {c.name} DROP NOT NULL")
    return out


def insert_columns(table: str) -> str:
    """'(a, b, ...)': the column list of an INSERT into ``table`` (always named: a migrated
    warehouse has its later columns last)."""
    return "(" + ", ".join(TABLES[table].names()) + ")"


# Columns every staged row has besides the requests columns formats stage (Column.staged).
STAGING_CONTROL: tuple[tuple[str, str], ...] = (
    ("line_no", "BIGINT"),
    ("record_no", "INTEGER"),  # 0, except the 2nd, 3rd, ... request of one line (otel batches): 1, 2, ...
    ("reason", "VARCHAR"),  # the format's own rejection reason
    ("merged", "BOOLEAN"),  # folded into another line's request
)
# Staged inputs that become a requests column by a derivation in ingest (hashing, counting).
STAGING_INPUTS: tuple[tuple[str, str], ...] = (
    ("user_raw", "VARCHAR"),  # raw caller id: hashed with the salt into user_hash, never stored
    ("attempt_list", "STRUCT(provider VARCHAR, http_status INTEGER, latency_ms DOUBLE, ts TIMESTAMPTZ)[]"),
)


def staged_columns() -> list[tuple[str, str]]:
    """(name, DuckDB type) of a staged row: the control columns, every requests column marked
    ``staged`` and the staging inputs. A format's staged_sql is inserted BY NAME, so a column it
    does not produce is NULL (record_no: 0)."""
    return [*STAGING_CONTROL, *((c.name, c.type) for c in REQUESTS.columns if c.staged), *STAGING_INPUTS]


def column_docs() -> dict[str, dict[str, str]]:
    """{table: {column: description}} for the data dictionary and the SQL console's schema browser."""
    return {name: {c.name: c.doc for c in t.columns} for name, t in TABLES.items()}


SCHEMA_PATH = Path(__file__).parent / "schemas" / "canonical_line.schema.json"


def canonical_json_schema() -> dict[str, Any]:
    return CanonicalLine.model_json_schema()


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(canonical_json_schema(), indent=2, sort_keys=True) + "\n")
    return path
