"""OpenTelemetry GenAI spans, in two encodings (both detected per line), from the instrumentations
people run: the OTel GenAI semantic conventions (current and older names), OpenLLMetry/Traceloop,
OpenInference (Arize Phoenix), Logfire/pydantic-ai and LangChain-style ``gen_ai.span.kind`` spans.

Encodings:

* **OTLP/JSON** export lines (what the collector's file exporter writes: one
  ExportTraceServiceRequest per line, batching the spans of many traces):
  ``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans": [{"spans": [...]}]}, ...]}``;
  each resource's ``service.name`` is the app of its spans; attributes are ``{"key", "value": {"stringValue"|"intValue"|"doubleValue"|"boolValue"|"arrayValue"}}``
  lists, times are unix nanoseconds (``startTimeUnixNano``, a string or a number), ids are hex,
  ``status.code`` 2 (``STATUS_CODE_ERROR``) is an error.
* **Flattened span objects**, one per line (e.g. the Python SDK's ``span.to_json()``):
  ``{"name", "context": {"trace_id", "span_id"}, "parent_id", "start_time", "end_time",
  "attributes": {...}, "status": {"status_code"}, "resource": {"attributes": {...}}}`` with ISO
  8601 or unix-nanosecond times; ``trace_id``/``span_id``/``parent_span_id`` at the top level are
  accepted too.

Span kinds (:data:`KIND_SQL`): a span is a **model call** when its own convention says so
(``gen_ai.operation.name`` chat/text_completion/generate_content, ``llm.request.type``
chat/completion, ``openinference.span.kind`` LLM, ``gen_ai.span.kind`` LLM) or, when it declares
no kind at all, when it carries a model and token usage; a **tool** span (``execute_tool``,
OpenInference/``gen_ai.span.kind`` TOOL, ``traceloop.span.kind`` tool, or an unkinded span with
``gen_ai.tool.name``: pydantic-ai's "running tool") adds one to the tool-call count of the model
call it belongs to (its parent span when that is a model call, else the latest model call of the
same trace that started before it); an **agent** span (``invoke_agent``, AGENT, CHAIN or
``traceloop.span.kind`` agent, or an unkinded span naming an agent: Logfire's "agent run") gives
the requests under it their ``agent`` name. Tool calls listed on the model span itself
(``gen_ai.completion.N.tool_calls.M``, ``llm.output_messages.N.message.tool_calls.M``, tool_call
parts of ``gen_ai.output.messages``) count too: the request's count is the larger of the listed
and the executed ones (an agent usually executes what the model listed).
A failed model-call span (``error.type`` set or status ERROR) followed, under the same parent
and for the same requested model, by another model-call span is an earlier *attempt* of that
request (gateway failover / retry spans): the request is the last span, ``attempts`` counts them.

Mapping: each column reads the attributes of :data:`FIELDS`, first present wins (docs/formats.md
has the table per convention). request_id = ``<traceId>-<spanId>`` of the request's span; ts =
its first attempt's start; latency = first start to last end; app = the resource's
``service.name``; http_status only when a span reports one (``http.response.status_code``, or a
numeric ``error.type``). Message content (``gen_ai.prompt.N.*``, ``llm.input_messages.*``,
``gen_ai.input.messages`` ...) is never read: only attribute *keys* are counted for tool calls.

Lines and requests: spans are matched across the whole file (a request's attempts, tool and agent
spans may sit in other lines). A line yields one staged row per request whose span (the last
attempt) it holds: ``record_no`` 0..k-1 in the order of those spans' start times, then span id.
A line whose spans all fold into requests of other lines (attempts, tools, the agent span a
request took its name from) is one ``merged`` row. A bad span sets aside its trace's spans in
that line: one row (record) with the first bad span's reason and the trace id as request_id,
numbered with the line's requests by start time; the line's other requests stand (ingest likewise
quarantines alone a request failing a common check). A bad span naming no trace makes its whole
line one rejected row, as do lines with no model-call, tool or agent span used by a request, and
lines whose tool spans have no model call in the file.
"""

from __future__ import annotations

from gatewaylens.formats._common import any_key_sql, finish_sql, provider_sql

NAME = "otel"

DETECT = (
    "list_has(keys, 'resourceSpans') OR "
    "(list_has(keys, 'attributes') AND " + any_key_sql("keys", ["start_time", "startTimeUnixNano", "context", "span_id"]) + ")"
)

MODEL_CALL_OPS = ("chat", "text_completion", "generate_content")

# ingest numbers a staged line (file number << FILE_SHIFT) | line number (ingest.FILE_SHIFT)
FILE_SHIFT = 32
_TRACE_HEX = "substr(r.tid, strpos(r.tid, '/') + 1)"  # the trace id without its file number

# Semantic field -> the attributes that carry it, first present wins (current OTel GenAI names,
# then older OTel names, OpenLLMetry, OpenInference, Logfire/pydantic-ai, LangChain-style ARMS).
FIELDS: dict[str, tuple[str, ...]] = {
    "op": ("gen_ai.operation.name",),
    "oi_kind": ("openinference.span.kind",),
    "span_kind": ("gen_ai.span.kind",),
    "tl_kind": ("traceloop.span.kind",),
    "request_type": ("llm.request.type",),
    "response_model": ("gen_ai.response.model", "llm.response.model_name", "llm.model_name", "gen_ai.model_name"),
    "request_model": ("gen_ai.request.model", "llm.request.model_name"),
    "provider": ("gen_ai.provider.name", "llm.provider", "gen_ai.system", "llm.system"),
    "finish": ("gen_ai.response.finish_reasons", "gen_ai.response.finish_reason", "llm.finish_reason",
               "gen_ai.completion.0.finish_reason", "llm.response.finish_reason"),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                     "llm.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion",
                      "llm.usage.completion_tokens"),
    "cached_tokens": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                      "llm.token_count.prompt_details.cache_read", "gen_ai.usage.details.cache_read_tokens"),
    "cache_write_tokens": ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
                           "llm.token_count.prompt_details.cache_write", "gen_ai.usage.details.cache_write_tokens"),
    "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
                         "llm.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning",
                         "gen_ai.usage.details.reasoning_tokens"),
    "cost": ("llm.cost.total", "operation.cost"),
    "error_type": ("error.type",),
    "http_status": ("http.response.status_code",),
    "user": ("user.id", "enduser.id", "gen_ai.user.id", "llm.user", "traceloop.association.properties.user_id"),
    "session": ("gen_ai.conversation.id", "session.id", "gen_ai.session.id",
                "traceloop.association.properties.session_id"),
    "tags": ("tag.tags", "logfire.tags"),
    "service_tier": ("openai.response.service_tier", "gen_ai.openai.response.service_tier",
                     "openai.request.service_tier", "gen_ai.openai.request.service_tier"),
    "agent": ("gen_ai.agent.name", "agent_name", "agent.name"),
    "entity": ("traceloop.entity.name",),
    "tool_name": ("gen_ai.tool.name",),
    "stream": ("gen_ai.request.stream", "llm.is_streaming", "gen_ai.is_streaming"),
    "ttft_s": ("gen_ai.response.time_to_first_chunk",),
    "output_messages": ("gen_ai.output.messages",),
}
# Fields whose value must be an integer (a wrong type sets the span's trace aside) / a number.
INT_FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "http_status")
NUM_FIELDS = ("cost", "ttft_s")
# Keys whose presence says the request offered tools (OpenInference, OpenLLMetry, OTel).
_TOOLS_OFFERED_PREFIXES = ("llm.tools.", "gen_ai.request.functions.", "llm.request.functions.", "gen_ai.tool.definitions")


# Every attribute any field reads: pivoted out of the span's key/value pairs by one join (see
# staged_sql), much cheaper than a list lookup per attribute and span.
WANTED: tuple[str, ...] = tuple(dict.fromkeys(n for names in FIELDS.values() for n in names))


def _a(name: str) -> str:
    """Value text of attribute ``name`` (lists k/v hold the span's keys and value texts)."""
    if name not in WANTED:
        raise ValueError(name)
    return f'"w:{name}"'


def _f(field: str) -> str:
    """Value text of a semantic field: its first attribute present."""
    names = FIELDS[field]
    return _a(names[0]) if len(names) == 1 else "coalesce(" + ", ".join(_a(n) for n in names) + ")"


def _first_int_error(field: str) -> str:
    """CASE arms: a present attribute of ``field`` that is not an integer."""
    return "\n".join(
        f"WHEN {_a(n)} IS NOT NULL AND TRY_CAST({_a(n)} AS BIGINT) IS NULL THEN 'wrong type: {n} must be an integer'"
        for n in FIELDS[field]
    )


def _first_num_error(field: str) -> str:
    return "\n".join(
        f"WHEN {_a(n)} IS NOT NULL AND TRY_CAST({_a(n)} AS DOUBLE) IS NULL THEN 'wrong type: {n} must be a number'"
        for n in FIELDS[field]
    )


_OPS = ", ".join(f"'{o}'" for o in MODEL_CALL_OPS)
_USAGE = " OR ".join(f"{_f(f)} IS NOT NULL" for f in ("input_tokens", "output_tokens"))
# What a span is: 'call' (a model call), 'tool', 'agent' (names the agent of the calls under it)
# or NULL. A span that declares a kind in any convention is taken at its word; only a span that
# declares none is judged by what it carries.
KIND_SQL = f"""CASE
    WHEN k_op IN ({_OPS}) OR k_oi = 'LLM' OR k_sk = 'LLM' OR k_rt IN ('chat', 'completion') THEN 'call'
    WHEN k_op = 'execute_tool' OR k_oi = 'TOOL' OR k_sk = 'TOOL' OR k_tl = 'tool' THEN 'tool'
    WHEN k_op = 'invoke_agent' OR k_oi IN ('AGENT', 'CHAIN') OR k_sk IN ('AGENT', 'CHAIN') OR k_tl IN ('agent', 'workflow')
        THEN 'agent'
    WHEN k_op IS NOT NULL OR k_oi IS NOT NULL OR k_sk IS NOT NULL OR k_rt IS NOT NULL OR k_tl IS NOT NULL THEN NULL
    WHEN coalesce({_f('response_model')}, {_f('request_model')}) IS NOT NULL AND ({_USAGE}) THEN 'call'
    WHEN {_f('tool_name')} IS NOT NULL THEN 'tool'
    WHEN {_f('agent')} IS NOT NULL THEN 'agent'
END"""

# Semantic fields read after the per-span checks: cut out as plain columns there, so the CTEs that
# DuckDB materialises (read more than once) do not carry every span's key/value lists.
_KEPT = ("provider", "http_status", "error_type", "user", "response_model", "finish", "input_tokens", "cached_tokens",
         "output_tokens", "reasoning_tokens", "cache_write_tokens", "cost", "session", "tags", "service_tier",
         "stream", "ttft_s")


def _c(field: str) -> str:
    """Column holding semantic field ``field`` after the checks (see _KEPT)."""
    if field not in _KEPT:
        raise ValueError(field)
    return '"a:' + field + '"'


# json_transform structure of an OTLP/JSON line: what is read of it (span scalars as text, each
# span's attributes as one JSON text).
_OTLP_SHAPE = (
    '{"resourceSpans": [{"resource": {"attributes": [{"key": "VARCHAR", "value": {"stringValue": "VARCHAR"}}]},'
    ' "scopeSpans": [{"spans": [{"traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR",'
    ' "name": "VARCHAR", "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR",'
    ' "status": {"code": "VARCHAR"}, "attributes": "JSON"}]}]}]}'
)
_SPANS_PER_RESOURCE = 1 << 32  # span_idx = resource number * this + span number (more spans than a line holds)


# An OTLP/JSON export line (else a flattened span); the prefix test spares most lines a parse.
_IS_OTLP = "(CASE WHEN starts_with(line, '{\"resourceSpans\"') THEN true ELSE coalesce(json_exists(line, '$.resourceSpans'), false) END)"


def _spans(source: str) -> str:
    """One row per span of every line: OTLP lines are unnested, flattened lines are one span."""
    flat_scalars = (
        "['$.context.trace_id', '$.trace_id', '$.context.span_id', '$.span_id', '$.parent_id', '$.parent_span_id',"
        " '$.name', '$.start_time', '$.end_time', '$.status.status_code', '$.resource.attributes.\"service.name\"']"
    )
    return f"""
        otlp_lines AS (
            SELECT line_no, line FROM {source} WHERE {_IS_OTLP}
        ),
        otlp_raw AS (
            -- one parse of the line: each resource's service.name, each span's scalars as text
            -- (VARCHAR leaves read numbers and strings alike, as json_extract_string does) and its
            -- attributes as one JSON text, the only part parsed again
            SELECT line_no, json_transform(line, '{_OTLP_SHAPE}').resourceSpans AS rss
            FROM otlp_lines
        ),
        otlp_res AS (
            -- one row per resource (a collector batch may hold several, each with its service.name)
            SELECT line_no, rs_idx,
                   -- (the usual shapes, service.name first and one scope, without a per-element lambda)
                   CASE WHEN rs.resource.attributes[1].key = 'service.name' THEN rs.resource.attributes[1].value.stringValue
                        ELSE list_filter(rs.resource.attributes, lambda a: a.key = 'service.name')[1].value.stringValue
                   END AS app,
                   CASE WHEN len(rs.scopeSpans) = 1 THEN rs.scopeSpans[1].spans
                        ELSE flatten(list_transform(rs.scopeSpans, lambda s: s.spans)) END AS spans
            FROM (SELECT line_no, unnest(rss) AS rs, unnest(range(len(rss))) AS rs_idx FROM otlp_raw)
        ),
        otlp AS (
            SELECT line_no, app, sp, rs_idx * {_SPANS_PER_RESOURCE} + i AS span_idx
            FROM (SELECT line_no, app, rs_idx, unnest(spans) AS sp, unnest(range(len(spans))) AS i FROM otlp_res)
        ),
        otlp_spans AS (
            SELECT line_no, span_idx, 'otlp' AS shape,
                   sp.traceId AS trace_id, sp.spanId AS span_id, nullif(sp.parentSpanId, '') AS parent_id,
                   sp.name AS name, sp.startTimeUnixNano AS start_raw, sp.endTimeUnixNano AS end_raw,
                   sp.status.code AS status_code,
                   json_extract_string(sp.attributes, '$[*].key') AS k,
                   json_extract_string(sp.attributes, '$[*].value.*') AS v,
                   app,
                   -- json_type of the attributes, from the first character of their compact text
                   CASE WHEN sp.attributes IS NULL OR CAST(sp.attributes AS VARCHAR) = 'null' THEN NULL
                        WHEN starts_with(CAST(sp.attributes AS VARCHAR), '[') THEN 'ARRAY'
                        WHEN starts_with(CAST(sp.attributes AS VARCHAR), '{{') THEN 'OBJECT'
                        ELSE 'SCALAR' END AS attr_type
            FROM otlp
        ),
        flat_spans AS (
            SELECT line_no, 0 AS span_idx, 'flat' AS shape,
                   coalesce(s[1], s[2]) AS trace_id, coalesce(s[3], s[4]) AS span_id,
                   nullif(coalesce(s[5], s[6]), '') AS parent_id, s[7] AS name,
                   s[8] AS start_raw, s[9] AS end_raw, s[10] AS status_code,
                   json_keys(line, '$.attributes') AS k,
                   json_extract_string(line, '$.attributes.*') AS v,
                   s[11] AS app,
                   json_type(line, '$.attributes') AS attr_type
            FROM (SELECT line_no, line, json_extract_string(line, {flat_scalars}) AS s
                  FROM {source} WHERE NOT {_IS_OTLP})  -- (not via otlp_lines: that would materialise it)
        )
    """


def _hex_id(col: str) -> str:
    """A trace/span id in one spelling: lower case, without a leading '0x' (the Python SDK's
    to_json writes '0x...'; OTLP/JSON writes bare hex); an empty id is no id."""
    return f"nullif(lower(CASE WHEN starts_with({col}, '0x') THEN substr({col}, 3) ELSE {col} END), '')"


def _ts(raw: str) -> str:
    """TIMESTAMPTZ from unix nanoseconds (string or number) or an ISO 8601 string."""
    return f"""CASE
        WHEN TRY_CAST({raw} AS HUGEINT) IS NOT NULL THEN make_timestamptz(CAST(TRY_CAST({raw} AS HUGEINT) // 1000 AS BIGINT))
        ELSE TRY_CAST({raw} AS TIMESTAMPTZ) END"""


def _first_of_list(text: str) -> str:
    """First entry of a list attribute: an OTLP arrayValue, a JSON list, or a bare string."""
    return f"""CASE
        WHEN starts_with({text}, '{{') THEN json_extract_string({text}, '$.values[0].stringValue')
        WHEN starts_with({text}, '[') THEN json_extract_string({text}, '$[0]')
        ELSE {text} END"""


def _string_list(text: str) -> str:
    """VARCHAR[] of a list attribute (OTLP arrayValue of strings, JSON list, or a bare string)."""
    return f"""CASE
        WHEN starts_with({text}, '{{') THEN json_extract_string({text}, '$.values[*].stringValue')
        WHEN starts_with({text}, '[') THEN json_extract_string({text}, '$[*]')
        WHEN {text} IS NOT NULL THEN [{text}] END"""


# Keys (never values) that say something: tool calls the model span lists in its output
# (OpenLLMetry gen_ai.completion.N.tool_calls.M.name, OpenInference
# llm.output_messages.N.message.tool_calls.M.tool_call.function.name; calls listed in the PROMPT
# history are not this response's), and tool definitions offered to the model.
_LISTED_TOOL_KEY = ("(starts_with(key, 'gen_ai.completion.') OR starts_with(key, 'llm.output_messages.'))"
                    " AND contains(key, '.tool_calls.') AND suffix(key, '.name')")
_OFFERED_KEY = " OR ".join(f"starts_with(key, '{p}')" for p in _TOOLS_OFFERED_PREFIXES)
def _listed_tool_calls() -> str:
    """Tool calls the model span lists: by key (see _LISTED_TOOL_KEY), or tool_call parts of the
    current conventions' gen_ai.output.messages (their type only is read). NULL when none."""
    parts = f"""len(regexp_extract_all({_f('output_messages')}, '"type"\\s*:\\s*"tool_call"'))"""
    keyed = "keyed_tools"
    return f"nullif(greatest({keyed}, coalesce({parts}, 0)), 0)"


def _sig_has(text: str, key_start: bool = True) -> str:
    """SQL: the span's keys joined (``sig``: chr(1) before each key) contain ``text`` (at a key's
    start when ``key_start``)."""
    return f"contains(sig, {'chr(1) || ' if key_start else ''}'{text}')"


def _lookup(name: str) -> str:
    """Value text of attribute ``name`` out of the span's key/value lists (first key wins)."""
    return f"v[list_position(k, '{name}')]"


def staged_sql(source: str) -> str:
    int_checks = "\n".join(_first_int_error(f) for f in INT_FIELDS)
    num_checks = "\n".join(_first_num_error(f) for f in NUM_FIELDS)
    finish_attr = "r." + _c("finish")
    line_ids = f"SELECT DISTINCT line_no FROM {source}"
    return f"""
        WITH {_spans(source)},
        spans AS (
            SELECT line_no, span_idx, trace_id, span_id, parent_id, start_raw, end_raw, status_code, app, k, v,
                   CASE WHEN attr_type IS NOT NULL AND attr_type NOT IN ('ARRAY', 'OBJECT', 'NULL')
                            THEN 'wrong type: attributes must be a key/value list or an object'
                        WHEN len(k) <> len(v) THEN 'wrong type: every attribute needs exactly one value'
                   END AS shape_reason
            FROM (SELECT * FROM otlp_spans UNION ALL BY NAME SELECT * FROM flat_spans)
        ),
        pivoted AS (
            -- every attribute any field reads, looked up once per span (the lists are dropped here)
            SELECT * EXCLUDE (k, v, sig),
                   {", ".join(f"{_lookup(n)} AS {_a(n)}" for n in WANTED)},
                   CASE WHEN {_sig_has(".tool_calls.", key_start=False)} THEN len(list_filter(k, lambda key: {_LISTED_TOOL_KEY}))
                        WHEN k IS NOT NULL THEN 0 END AS keyed_tools,
                   CASE WHEN {" OR ".join(_sig_has(p) for p in _TOOLS_OFFERED_PREFIXES)}
                            THEN len(list_filter(k, lambda key: {_OFFERED_KEY})) > 0
                        WHEN k IS NOT NULL THEN false END AS offered
            FROM (SELECT *, chr(1) || array_to_string(k, chr(1)) AS sig FROM spans)
        ),
        kinded AS (
            -- what each span declares (its kind attributes, read once), for the spans that may be GenAI
            SELECT *,
                   lower({_f('op')}) AS k_op, upper({_f('oi_kind')}) AS k_oi, upper({_f('span_kind')}) AS k_sk,
                   lower({_f('tl_kind')}) AS k_tl, lower({_f('request_type')}) AS k_rt
            FROM pivoted
        ),
        typed AS MATERIALIZED (
            SELECT *, {KIND_SQL} AS kind FROM kinded
        ),
        checked AS MATERIALIZED (
            -- spans that matter (model calls, tools, agents) and spans whose attributes are malformed
            SELECT line_no, span_idx, kind, tid, sid, pid, t_start, t_end, app,
                   coalesce({_f('error_type')} IS NOT NULL, false)
                       OR coalesce(TRY_CAST({_f('http_status')} AS INTEGER) >= 400, false)
                       OR coalesce(status_code IN ('2', 'ERROR', 'STATUS_CODE_ERROR', 'StatusCode.ERROR'), false) AS failed,
                   {_f('request_model')} AS requested_model,
                   coalesce({_f('request_model')}, {_f('response_model')}) AS req_model,
                   CASE WHEN kind = 'agent' THEN coalesce({_f('agent')}, CASE WHEN k_tl IN ('agent', 'workflow')
                                                                                 THEN {_f('entity')} END)
                        ELSE {_f('agent')} END AS agent_name,
                   CASE WHEN kind = 'call' THEN {_listed_tool_calls()} END AS listed_tools,
                   CASE WHEN kind = 'call' AND offered THEN true END AS tools_offered,
                   {", ".join(f"{_f(n)} AS {_c(n)}" for n in _KEPT)},
                   CASE
                       WHEN shape_reason IS NOT NULL THEN shape_reason
                       WHEN kind IS NULL OR kind = 'agent' THEN NULL
                       WHEN trace_id IS NULL THEN 'missing required field: traceId'
                       WHEN span_id IS NULL THEN 'missing required field: spanId'
                       WHEN start_raw IS NULL THEN 'missing required field: startTimeUnixNano'
                       WHEN t_start IS NULL THEN 'unparseable timestamp: startTimeUnixNano'
                       WHEN end_raw IS NOT NULL AND t_end IS NULL THEN 'unparseable timestamp: endTimeUnixNano'
                       WHEN kind = 'tool' THEN NULL
                       WHEN coalesce({_f('request_model')}, {_f('response_model')}) IS NULL
                           THEN 'missing required field: gen_ai.request.model (or llm.model_name)'
                       {int_checks}
                       {num_checks}
                       WHEN NOT ((coalesce({_f('error_type')} IS NOT NULL, false)
                                  OR coalesce(status_code IN ('2', 'ERROR', 'STATUS_CODE_ERROR', 'StatusCode.ERROR'), false)
                                  OR coalesce(TRY_CAST({_f('http_status')} AS INTEGER) >= 400, false))
                                 OR {_USAGE})
                           THEN 'missing usage: gen_ai.usage.input_tokens/output_tokens (or llm.token_count.*)'
                   END AS span_reason
            FROM (SELECT *,
                         -- spans match within their own file only: ingest stages several small files
                         -- together (line_no >> FILE_SHIFT is the file), and the same trace in two
                         -- files is the same requests twice (duplicates), not retries of one another
                         CAST(line_no >> {FILE_SHIFT} AS VARCHAR) || '/' || {_hex_id('trace_id')} AS tid,
                         {_hex_id('span_id')} AS sid,
                         coalesce({_hex_id('parent_id')}, '') AS pid,
                         {_ts('start_raw')} AS t_start,
                         {_ts('end_raw')} AS t_end
                  FROM typed WHERE kind IS NOT NULL OR shape_reason IS NOT NULL)
        ),
        bad_lines AS (
            -- a bad span that names no trace spoils its whole line
            SELECT line_no, arg_min(span_reason, span_idx) AS reason
            FROM checked WHERE span_reason IS NOT NULL AND tid IS NULL GROUP BY line_no
        ),
        bad_traces AS (
            -- otherwise only its trace's spans in that line are set aside: one quarantined record
            -- per (line, trace), so one bad span does not cost a collector batch its other requests
            SELECT line_no, tid, arg_min(span_reason, span_idx) AS reason, min(t_start) AS t_start
            FROM checked
            WHERE span_reason IS NOT NULL AND tid IS NOT NULL AND line_no NOT IN (SELECT line_no FROM bad_lines)
            GROUP BY line_no, tid
        ),
        usable AS (
            SELECT c.* FROM checked c
            WHERE c.kind IS NOT NULL
              AND c.line_no NOT IN (SELECT line_no FROM bad_lines)
              AND NOT EXISTS (SELECT 1 FROM bad_traces b WHERE b.line_no = c.line_no AND b.tid = c.tid)
        ),
        calls AS (
            SELECT *,
                   {{'provider': {provider_sql(_c('provider'))},
                     'http_status': coalesce(TRY_CAST({_c('http_status')} AS INTEGER),
                                             CASE WHEN TRY_CAST({_c('error_type')} AS INTEGER) BETWEEN 100 AND 599
                                                  THEN TRY_CAST({_c('error_type')} AS INTEGER) END),
                     'latency_ms': (epoch_us(t_end) - epoch_us(t_start)) / 1000.0,
                     'ts': t_start}} AS att
            FROM usable WHERE kind = 'call'
        ),
        multi AS (
            -- (trace, parent, requested model) with several calls: the only ones that may hold
            -- attempts of one request; every other call is its own request (no window, no aggregate)
            SELECT tid, pid, req_model FROM calls GROUP BY ALL HAVING count(*) > 1
        ),
        calls_g AS (
            SELECT c.line_no, c.tid, c.sid, c.pid, c.req_model, c.t_start, c.t_end, c.att,
                   coalesce(sum(CASE WHEN c.failed THEN 0 ELSE 1 END) OVER (
                       PARTITION BY c.tid, c.pid, c.req_model ORDER BY c.t_start, c.sid
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS grp
            FROM calls c SEMI JOIN multi m ON m.tid = c.tid AND m.pid = c.pid AND m.req_model = c.req_model
        ),
        groups AS (
            SELECT tid, pid, req_model, grp,
                   arg_max(line_no, (t_start, sid)) AS rep_line,
                   arg_max(sid, (t_start, sid)) AS rep_sid,
                   min(t_start) AS t0,
                   max(coalesce(t_end, t_start)) AS t1,
                   -- attempts in (start, span id) order: sorting the collected list is cheaper
                   -- than an ordered aggregate (span ids are unique in a trace, so att never decides)
                   [x.att FOR x IN list_sort(list({{'t': t_start, 's': sid, 'att': att}}))] AS atts
            FROM calls_g GROUP BY ALL
        ),
        call_rep AS (
            SELECT c.tid, c.sid, c.t_start, g.rep_sid
            FROM calls_g c JOIN groups g USING (tid, pid, req_model, grp)
            UNION ALL
            SELECT c.tid, c.sid, c.t_start, c.sid FROM calls c ANTI JOIN multi m
                ON m.tid = c.tid AND m.pid = c.pid AND m.req_model = c.req_model
        ),
        tools AS (
            SELECT * FROM usable WHERE kind = 'tool'
        ),
        tool_by_parent AS (
            SELECT t.line_no, t.tid, t.sid, t.t_start, r.rep_sid
            FROM tools t LEFT JOIN call_rep r ON r.tid = t.tid AND r.sid = t.pid
        ),
        tool_by_time AS (
            SELECT t.line_no, t.tid, t.sid, t.t_start, c.rep_sid
            FROM (SELECT * FROM tool_by_parent WHERE rep_sid IS NULL) t
            ASOF LEFT JOIN (SELECT tid, t_start, rep_sid FROM call_rep) c
                ON c.tid = t.tid AND t.t_start >= c.t_start
        ),
        tool_rep AS (
            SELECT * FROM tool_by_parent WHERE rep_sid IS NOT NULL
            UNION ALL SELECT * FROM tool_by_time
        ),
        tool_counts AS (
            SELECT tid, rep_sid, count(*) AS n FROM tool_rep WHERE rep_sid IS NOT NULL GROUP BY ALL
        ),
        agents AS (
            SELECT line_no, tid, sid, t_start, coalesce(t_end, t_start) AS t_end, agent_name
            FROM usable WHERE kind = 'agent' AND agent_name IS NOT NULL AND tid IS NOT NULL AND t_start IS NOT NULL
        ),
        reps0 AS (
            SELECT r.*, tc.n AS tools_n, CAST(NULL AS VARCHAR) AS bad_reason
            FROM (SELECT c.*, g.t0, g.t1, g.atts
                  FROM groups g JOIN calls c ON c.tid = g.tid AND c.sid = g.rep_sid AND c.line_no = g.rep_line
                  UNION ALL
                  SELECT c.*, c.t_start, coalesce(c.t_end, c.t_start), [c.att]
                  FROM calls c ANTI JOIN multi m ON m.tid = c.tid AND m.pid = c.pid AND m.req_model = c.req_model) r
            LEFT JOIN tool_counts tc ON tc.tid = r.tid AND tc.rep_sid = r.sid
        ),
        agent_by_parent AS (
            -- the agent of a request: its own span's agent name, else its parent agent span's ...
            SELECT r.tid, r.sid, a.agent_name, a.line_no AS agent_line
            FROM reps0 r JOIN agents a ON a.tid = r.tid AND a.sid = r.pid
            WHERE r.agent_name IS NULL
        ),
        agent_by_time AS (
            -- ... else the latest agent span of the trace that started before it and was still running
            SELECT r.tid, r.sid, CASE WHEN a.t_end >= r.t_start THEN a.agent_name END AS agent_name,
                   CASE WHEN a.t_end >= r.t_start THEN a.line_no END AS agent_line
            FROM (SELECT r.tid, r.sid, r.t_start FROM reps0 r
                  LEFT JOIN agent_by_parent p ON p.tid = r.tid AND p.sid = r.sid
                  WHERE r.agent_name IS NULL AND p.sid IS NULL) r
            ASOF JOIN agents a ON a.tid = r.tid AND r.t_start >= a.t_start
        ),
        agent_of AS (
            SELECT * FROM agent_by_parent UNION ALL SELECT * FROM agent_by_time WHERE agent_name IS NOT NULL
        ),
        reps AS (
            SELECT r.* REPLACE (coalesce(r.agent_name, ag.agent_name) AS agent_name)
            FROM reps0 r LEFT JOIN agent_of ag ON ag.tid = r.tid AND ag.sid = r.sid
        ),
        line_use AS (
            SELECT line_no,
                   count(*) FILTER (WHERE kind = 'rep') AS reps,
                   count(*) FILTER (WHERE kind = 'orphan') AS orphans,
                   count(*) AS used
            FROM (
                SELECT line_no, 'rep' AS kind FROM reps0
                UNION ALL SELECT line_no, 'call' FROM calls
                UNION ALL SELECT line_no, CASE WHEN rep_sid IS NULL THEN 'orphan' ELSE 'tool' END FROM tool_rep
                UNION ALL SELECT agent_line, 'agent' FROM agent_of
            ) GROUP BY line_no
        ),
        recs AS (
            SELECT * FROM reps
            UNION ALL BY NAME
            SELECT line_no, tid, t_start, reason AS bad_reason FROM bad_traces
        ),
        multi_lines AS (
            SELECT line_no FROM recs GROUP BY line_no HAVING count(*) > 1
        ),
        records AS (
            -- every request of a line, and every trace of it set aside, is a record of its own,
            -- numbered by start time (a window only over the lines that hold several)
            SELECT r.*, CAST(0 AS INTEGER) AS record_no FROM recs r ANTI JOIN multi_lines m USING (line_no)
            UNION ALL
            SELECT r.*, CAST(row_number() OVER (PARTITION BY r.line_no ORDER BY r.t_start, r.sid, r.tid) - 1 AS INTEGER)
            FROM recs r SEMI JOIN multi_lines m USING (line_no)
        ),
        lines AS (
            SELECT l.line_no,
                   CASE
                       WHEN b.reason IS NOT NULL THEN b.reason
                       WHEN t.line_no IS NOT NULL THEN NULL  -- its records say
                       WHEN u.line_no IS NULL
                           THEN 'no model-call span (gen_ai.operation.name chat/text_completion/generate_content, '
                                || 'llm.request.type, openinference.span.kind LLM, or a model with token usage)'
                       WHEN u.reps = 0 AND u.orphans > 0 THEN 'execute_tool span without its model call in this file'
                   END AS reason,
                   coalesce(u.reps, 0) = 0 AND t.line_no IS NULL AS no_rep
            FROM ({line_ids}) l
            LEFT JOIN bad_lines b USING (line_no)
            LEFT JOIN line_use u USING (line_no)
            LEFT JOIN (SELECT DISTINCT line_no FROM bad_traces) t USING (line_no)
        )
        SELECT
            l.line_no,
            coalesce(r.record_no, 0) AS record_no,
            '{NAME}' AS source_format,
            coalesce(l.reason, r.bad_reason) AS reason,
            l.reason IS NULL AND l.no_rep AS merged,
            -- a trace set aside is named by its trace id (quarantine detail)
            CASE WHEN r.bad_reason IS NULL THEN {_TRACE_HEX} || '-' || r.sid ELSE {_TRACE_HEX} END AS request_id,
            r.t0 AS ts,
            r.app,
            r."a:user" AS user_raw,
            CAST(NULL AS VARCHAR) AS user_hash,
            coalesce(r."a:response_model", r.req_model) AS model,
            r.requested_model AS model_requested,
            r.atts[-1].provider AS provider,
            CASE WHEN r.failed THEN 'error' ELSE 'success' END AS status,
            r.atts[-1].http_status AS http_status,
            CASE WHEN r.failed THEN coalesce(r."a:error_type", 'error') END AS error_type,
            CASE WHEN r.failed THEN 'error'
                 -- a response whose tool calls were listed or executed is a tool call, whatever the
                 -- native reason (Gemini reports STOP alongside function calls)
                 WHEN greatest(r.tools_n, r.listed_tools) > 0
                      AND coalesce({finish_sql(_first_of_list(finish_attr))}, 'stop') = 'stop' THEN 'tool_calls'
                 ELSE {finish_sql(_first_of_list(finish_attr))} END AS finish_reason,
            {_first_of_list(finish_attr)} AS native_finish_reason,
            r.tools_offered,
            CAST(greatest(r.tools_n, r.listed_tools) AS INTEGER) AS tool_call_count,
            TRY_CAST(r."a:input_tokens" AS BIGINT) AS input_tokens,
            TRY_CAST(r."a:cached_tokens" AS BIGINT) AS cached_tokens,
            TRY_CAST(r."a:output_tokens" AS BIGINT) AS output_tokens,
            TRY_CAST(r."a:reasoning_tokens" AS BIGINT) AS reasoning_tokens,
            TRY_CAST(r."a:cache_write_tokens" AS BIGINT) AS cache_write_tokens,
            TRY_CAST(r."a:cost" AS DOUBLE) AS cost_usd,
            (epoch_us(r.t1) - epoch_us(r.t0)) / 1000.0 AS latency_ms,
            TRY_CAST(r."a:ttft_s" AS DOUBLE) * 1000.0 AS ttft_ms,
            TRY_CAST(r."a:stream" AS BOOLEAN) AS streamed,
            r."a:session" AS session_id,
            {_string_list('r."a:tags"')} AS tags,
            r."a:service_tier" AS service_tier,
            r.agent_name AS agent,
            r.atts AS attempt_list
        FROM lines l LEFT JOIN records r ON r.line_no = l.line_no AND l.reason IS NULL
    """
