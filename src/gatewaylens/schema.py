"""The canonical schema: the contract that users' SQL depends on.

Two kinds of models live here:

* :class:`CanonicalLine` — one line of the canonical JSONL input format (what a gateway, the
  generator or another format's normaliser produces). Its JSON Schema is published at
  ``src/gatewaylens/schemas/canonical_line.schema.json`` (``gatewaylens schema`` rewrites it).
* :class:`RequestRow`, :class:`ProviderAttemptRow`, :class:`QuarantineRow`,
  :class:`IngestedFileRow` — one row of each warehouse table. ``sql/ddl.sql`` declares the
  same tables; ``tests/test_schema.py`` proves the two agree column by column.

The vectorised ingest (``ingest.py``) applies the same rules in SQL; pydantic is used to explain
precisely why a rejected line was rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
        raise ValueError(f"unparseable timestamp {v!r} (expected ISO 8601, e.g. 2026-01-15T08:30:00Z)") from None


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
# Warehouse rows. Field order = column order in sql/ddl.sql.
# --------------------------------------------------------------------------------------------


class RequestRow(BaseModel):
    """Table ``requests`` — grain: one row per gateway request (unique ``request_id``)."""

    request_id: str = Field(description="Unique id of the request (from the source; unique across the table).")
    ts: dt.datetime = Field(description="Request start, UTC.")
    day: dt.date = Field(description="UTC day of ts; every mart is partitioned by it.")
    source_format: str = Field(description="Input format the row came from: canonical, openrouter, litellm, otel, envelope.")
    app: str | None = Field(description="Calling application (NULL when the source does not say).")
    user_hash: str | None = Field(description="sha256(salt || caller id), hex. The raw id is never stored.")
    model: str = Field(description="Normalised model slug 'vendor/model'.")
    provider: str | None = Field(description="Provider that served the request (the last attempt).")
    status: Literal["success", "error"] = Field(description="'success' or 'error'.")
    http_status: int | None = Field(description="HTTP status of the final response.")
    error_type: str | None = Field(description="Error class when status = 'error'.")
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter", "error", "other"] = Field(
        description="Normalised finish reason."
    )
    native_finish_reason: str | None = Field(description="Finish reason as the provider reported it.")
    tools_offered: bool | None = Field(description="Request offered tools; NULL = unknown.")
    tool_call_count: int = Field(description="Number of tool calls in the response.")
    input_tokens: int = Field(description="Prompt tokens, including cached_tokens.")
    cached_tokens: int | None = Field(description="Prompt tokens served from cache; NULL = not reported.")
    output_tokens: int = Field(description="Completion tokens, including reasoning_tokens.")
    reasoning_tokens: int | None = Field(description="Reasoning tokens; NULL = not reported, 0 = reported zero.")
    cost_usd: float | None = Field(description="Cost logged by the gateway, USD; NULL = not logged.")
    latency_ms: float | None = Field(description="Total latency, milliseconds.")
    ttft_ms: float | None = Field(description="Time to first token, milliseconds.")
    streamed: bool | None = Field(description="Response was streamed; NULL = unknown.")
    attempts: int = Field(description="Provider attempts including failovers (>= 1).")
    source_file: str = Field(description="Landing file the row was read from.")
    line_no: int = Field(description="1-based line number in source_file (the requests of an OTLP/JSON line that batches several share it).")
    ingested_at: dt.datetime = Field(description="When the row was ingested, UTC.")


class ProviderAttemptRow(BaseModel):
    """Table ``provider_attempts`` — grain: one row per attempt at a provider."""

    request_id: str = Field(description="The request the attempt belongs to.")
    attempt_no: int = Field(description="1-based order of the attempt within the request.")
    provider: str = Field(description="Provider tried.")
    http_status: int | None = Field(description="HTTP status the provider returned.")
    latency_ms: float | None = Field(description="Time spent on this attempt, milliseconds.")
    ts: dt.datetime = Field(description="Attempt start, UTC.")
    day: dt.date = Field(description="UTC day of the request (same as requests.day).")


class QuarantineRow(BaseModel):
    """Table ``quarantine`` — grain: one row per rejected input line."""

    source_file: str = Field(description="File the line came from.")
    line_no: int = Field(description="1-based line number.")
    raw_line: str = Field(description="First 8 KiB of the line (invalid UTF-8 replaced).")
    reason: str = Field(description="Why the line was rejected: a stable category such as 'invalid JSON' or 'wrong type: input_tokens'.")
    detail: str | None = Field(description="The precise explanation for this line (from the pydantic model), with the offending value.")
    source_format: str | None = Field(description="Format the line was detected as, when known.")
    ingested_at: dt.datetime = Field(description="When the line was rejected, UTC.")


class IngestedFileRow(BaseModel):
    """Table ``ingested_files`` — grain: one row per (path, content) ingested."""

    path: str = Field(description="File path as given to ingest.")
    content_sha256: str = Field(description="sha256 of the file's (decompressed) bytes.")
    bytes: int = Field(description="Size of the decompressed content.")
    lines: int = Field(description="Input lines in the file.")
    rows_inserted: int = Field(description="Records that became new rows of requests.")
    duplicates: int = Field(description="Records whose request_id was already stored or repeated in the file.")
    quarantined: int = Field(description="Lines rejected into quarantine (a rejected line is one record, whatever it held).")
    merged: int = Field(description="Lines folded into another line's request (e.g. retries sharing a trace).")
    ingested_at: dt.datetime = Field(description="When the file was ingested, UTC.")
    records: int | None = Field(
        description="Records read from the file: one per line, except an OTLP/JSON line batching several requests, "
        "which is one per request. records = rows_inserted + duplicates + quarantined + merged and records >= lines. "
        "Last column because it was added later (ALTER TABLE); rows written before it have records = lines.")


TABLE_MODELS: dict[str, type[BaseModel]] = {
    "requests": RequestRow,
    "provider_attempts": ProviderAttemptRow,
    "quarantine": QuarantineRow,
    "ingested_files": IngestedFileRow,
}

_DUCK_TYPES: dict[Any, str] = {
    str: "VARCHAR",
    int: "BIGINT",
    float: "DOUBLE",
    bool: "BOOLEAN",
    dt.date: "DATE",
    dt.datetime: "TIMESTAMPTZ",
}

# Columns whose DuckDB type is narrower than the default mapping.
_INTEGER_COLUMNS = {"http_status", "tool_call_count", "attempts", "attempt_no"}


def duckdb_type(model: type[BaseModel], name: str) -> str:
    """DuckDB type implied by a row model's field annotation."""
    ann = model.model_fields[name].annotation
    args = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) is not None else [ann]
    if get_origin(ann) is Literal:
        base: Any = str
    else:
        base = args[0] if args else ann
        if get_origin(base) is Literal:
            base = str
    duck = _DUCK_TYPES[base]
    if duck == "BIGINT" and name in _INTEGER_COLUMNS:
        return "INTEGER"
    return duck


def is_nullable(model: type[BaseModel], name: str) -> bool:
    return type(None) in get_args(model.model_fields[name].annotation)


def column_docs() -> dict[str, dict[str, str]]:
    """{table: {column: description}} for the data dictionary and the SQL console's schema browser."""
    return {
        table: {name: (f.description or "") for name, f in model.model_fields.items()}
        for table, model in TABLE_MODELS.items()
    }


SCHEMA_PATH = Path(__file__).parent / "schemas" / "canonical_line.schema.json"


def canonical_json_schema() -> dict[str, Any]:
    return CanonicalLine.model_json_schema()


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(canonical_json_schema(), indent=2, sort_keys=True) + "\n")
    return path
