"""OpenTelemetry GenAI spans, in two encodings (both detected per line):

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

Semantics (GenAI semantic conventions): spans whose ``gen_ai.operation.name`` is ``chat``,
``text_completion`` or ``generate_content`` are model calls and become requests; ``execute_tool``
spans add one to the tool-call count of the model call they belong to (their parent span when
it is a model call, else the latest model call of the same trace that started before them).
A failed model-call span (``error.type`` set or status ERROR) followed, under the same parent
and for the same requested model, by another model-call span is an earlier *attempt* of that
request (gateway failover / retry spans): the request is the last span, ``attempts`` counts them.

Mapping: ``gen_ai.response.model`` (else ``gen_ai.request.model``) -> model (alias table);
``gen_ai.provider.name`` (older: ``gen_ai.system``) -> provider (alias table);
``gen_ai.response.finish_reasons[0]`` -> finish_reason (normalised); ``gen_ai.usage.input_tokens``
(older ``prompt_tokens``; includes cached per the conventions) -> input_tokens;
``gen_ai.usage.output_tokens`` (older ``completion_tokens``) -> output_tokens;
``gen_ai.usage.cache_read.input_tokens`` -> cached_tokens; ``gen_ai.usage.reasoning.output_tokens``
-> reasoning_tokens (NULL when absent); ``error.type`` -> error_type;
``http.response.status_code`` (else a numeric ``error.type``) -> http_status; span start -> ts;
first start to last end of the request's spans -> latency_ms; resource ``service.name`` -> app;
``user.id`` (older ``enduser.id``) -> user (hashed); request_id = ``<traceId>-<spanId>`` of the
request's span. Not carried (NULL): cost_usd, ttft_ms, streamed, tools_offered.

Lines and requests: spans are matched across the whole file (a request's attempts and tool
spans may sit in other lines). A line yields one staged row per request whose span (the last
attempt) it holds: ``record_no`` 0..k-1 in the order of those spans' start times, then span id.
A line whose spans all fold into requests of other lines is one ``merged`` row. A bad span sets
aside its trace's spans in that line: one row (record) with the first bad span's reason and the
trace id as request_id, numbered with the line's requests by start time; the line's other
requests stand (ingest likewise quarantines alone a request failing a common check). A bad span
naming no trace makes its whole line one rejected row, as do lines with no model-call or tool
span and lines whose tool spans have no model call in the file.
"""

from __future__ import annotations

from gatewaylens.formats._common import any_key_sql, finish_sql, provider_sql

NAME = "otel"

DETECT = (
    "list_has(keys, 'resourceSpans') OR "
    "(list_has(keys, 'attributes') AND " + any_key_sql("keys", ["start_time", "startTimeUnixNano", "context", "span_id"]) + ")"
)

MODEL_CALL_OPS = ("chat", "text_completion", "generate_content")

# Attribute -> kind of value expected.
ATTRS: dict[str, str] = {
    "gen_ai.operation.name": "str",
    "gen_ai.provider.name": "str",
    "gen_ai.system": "str",
    "gen_ai.request.model": "str",
    "gen_ai.response.model": "str",
    "gen_ai.response.finish_reasons": "list",
    "gen_ai.usage.input_tokens": "int",
    "gen_ai.usage.prompt_tokens": "int",
    "gen_ai.usage.output_tokens": "int",
    "gen_ai.usage.completion_tokens": "int",
    "gen_ai.usage.cache_read.input_tokens": "int",
    "gen_ai.usage.reasoning.output_tokens": "int",
    "error.type": "str",
    "http.response.status_code": "int",
    "user.id": "str",
    "enduser.id": "str",
}
_INT_ATTRS = [a for a, k in ATTRS.items() if k == "int"]


def _a(name: str) -> str:
    """Value text of attribute ``name`` (lists k/v hold the span's keys and value texts)."""
    return f"v[list_position(k, '{name}')]"


# Attributes read after the per-span checks: cut out as plain columns there, so the CTEs that
# DuckDB materialises (read more than once) do not carry every span's key/value lists.
_KEPT_ATTRS = (
    "gen_ai.provider.name", "gen_ai.system", "http.response.status_code", "error.type", "user.id", "enduser.id",
    "gen_ai.response.model", "gen_ai.response.finish_reasons", "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens", "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens", "gen_ai.usage.reasoning.output_tokens",
)


def _c(name: str) -> str:
    """Column holding attribute ``name`` after the checks (see _KEPT_ATTRS)."""
    if name not in _KEPT_ATTRS:
        raise ValueError(name)
    return '"a:' + name + '"'


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
                   list_filter(rs.resource.attributes, lambda a: a.key = 'service.name')[1].value.stringValue AS app,
                   flatten(list_transform(rs.scopeSpans, lambda s: s.spans)) AS spans
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
    to_json writes '0x...'; OTLP/JSON writes bare hex)."""
    return f"lower(CASE WHEN starts_with({col}, '0x') THEN substr({col}, 3) ELSE {col} END)"


def _ts(raw: str) -> str:
    """TIMESTAMPTZ from unix nanoseconds (string or number) or an ISO 8601 string."""
    return f"""CASE
        WHEN TRY_CAST({raw} AS HUGEINT) IS NOT NULL THEN make_timestamptz(CAST(TRY_CAST({raw} AS HUGEINT) // 1000 AS BIGINT))
        ELSE TRY_CAST({raw} AS TIMESTAMPTZ) END"""


def _first_finish(text: str) -> str:
    """First entry of gen_ai.response.finish_reasons: an OTLP arrayValue, a JSON list, or a bare string."""
    return f"""CASE
        WHEN starts_with({text}, '{{') THEN json_extract_string({text}, '$.values[0].stringValue')
        WHEN starts_with({text}, '[') THEN json_extract_string({text}, '$[0]')
        ELSE {text} END"""


def staged_sql(source: str) -> str:
    int_checks = "\n".join(
        f"WHEN {_a(a)} IS NOT NULL AND TRY_CAST({_a(a)} AS BIGINT) IS NULL THEN 'wrong type: {a} must be an integer'"
        for a in _INT_ATTRS
    )
    ops = ", ".join(f"'{o}'" for o in MODEL_CALL_OPS)
    finish_attr = "r." + _c("gen_ai.response.finish_reasons")
    line_ids = f"SELECT DISTINCT line_no FROM {source}"
    return f"""
        WITH {_spans(source)},
        spans AS (
            SELECT *,
                   {_a('gen_ai.operation.name')} AS op,
                   {_hex_id('trace_id')} AS tid,
                   {_hex_id('span_id')} AS sid,
                   coalesce({_hex_id('parent_id')}, '') AS pid,
                   {_ts('start_raw')} AS t_start,
                   {_ts('end_raw')} AS t_end,
                   coalesce({_a('error.type')} IS NOT NULL, false)
                       OR coalesce(TRY_CAST({_a('http.response.status_code')} AS INTEGER) >= 400, false)
                       OR coalesce(status_code IN ('2', 'ERROR', 'STATUS_CODE_ERROR', 'StatusCode.ERROR'), false) AS failed,
                   coalesce({_a('gen_ai.request.model')}, {_a('gen_ai.response.model')}) AS req_model
            FROM (SELECT * FROM otlp_spans UNION ALL BY NAME SELECT * FROM flat_spans)
        ),
        checked AS MATERIALIZED (
            SELECT line_no, span_idx, op, tid, sid, pid, t_start, t_end, failed, req_model, app,
                   {", ".join(f"{_a(n)} AS {_c(n)}" for n in _KEPT_ATTRS)},
                   CASE
                       WHEN attr_type IS NOT NULL AND attr_type NOT IN ('ARRAY', 'OBJECT', 'NULL')
                           THEN 'wrong type: attributes must be a key/value list or an object'
                       WHEN len(k) <> len(v) THEN 'wrong type: every attribute needs exactly one value'
                       WHEN op IS NULL OR op NOT IN ({ops}, 'execute_tool') THEN NULL
                       WHEN trace_id IS NULL THEN 'missing required field: traceId'
                       WHEN span_id IS NULL THEN 'missing required field: spanId'
                       WHEN start_raw IS NULL THEN 'missing required field: startTimeUnixNano'
                       WHEN t_start IS NULL THEN 'unparseable timestamp: startTimeUnixNano'
                       WHEN end_raw IS NOT NULL AND t_end IS NULL THEN 'unparseable timestamp: endTimeUnixNano'
                       WHEN op = 'execute_tool' THEN NULL
                       WHEN req_model IS NULL THEN 'missing required field: gen_ai.request.model'
                       {int_checks}
                       WHEN NOT failed AND {_a('gen_ai.usage.input_tokens')} IS NULL AND {_a('gen_ai.usage.prompt_tokens')} IS NULL
                            AND {_a('gen_ai.usage.output_tokens')} IS NULL AND {_a('gen_ai.usage.completion_tokens')} IS NULL
                           THEN 'missing usage: gen_ai.usage.input_tokens/output_tokens'
                   END AS span_reason
            FROM spans
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
            WHERE c.line_no NOT IN (SELECT line_no FROM bad_lines)
              AND NOT EXISTS (SELECT 1 FROM bad_traces b WHERE b.line_no = c.line_no AND b.tid = c.tid)
        ),
        calls AS (
            SELECT * FROM usable WHERE op IN ({ops})
        ),
        calls_g AS (
            SELECT *,
                   coalesce(sum(CASE WHEN failed THEN 0 ELSE 1 END) OVER (
                       PARTITION BY tid, pid, req_model ORDER BY t_start, sid
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS grp
            FROM calls
        ),
        groups AS (
            SELECT tid, pid, req_model, grp,
                   arg_max(line_no, (t_start, sid)) AS rep_line,
                   arg_max(sid, (t_start, sid)) AS rep_sid,
                   min(t_start) AS t0,
                   max(coalesce(t_end, t_start)) AS t1,
                   -- attempts in (start, span id) order: sorting the collected list is cheaper
                   -- than an ordered aggregate (span ids are unique in a trace, so att never decides)
                   [x.att FOR x IN list_sort(list({{'t': t_start, 's': sid, 'att': {{
                       'provider': {provider_sql(f"coalesce({_c('gen_ai.provider.name')}, {_c('gen_ai.system')})")},
                       'http_status': coalesce(TRY_CAST({_c('http.response.status_code')} AS INTEGER),
                                               CASE WHEN TRY_CAST({_c('error.type')} AS INTEGER) BETWEEN 100 AND 599
                                                    THEN TRY_CAST({_c('error.type')} AS INTEGER) END,
                                               CASE WHEN NOT failed THEN 200 END),
                       'latency_ms': (epoch_us(t_end) - epoch_us(t_start)) / 1000.0,
                       'ts': t_start
                   }}}}))] AS atts
            FROM calls_g GROUP BY ALL
        ),
        call_rep AS (
            SELECT c.tid, c.sid, g.rep_sid, c.line_no
            FROM calls_g c JOIN groups g USING (tid, pid, req_model, grp)
        ),
        tools AS (
            SELECT * FROM usable WHERE op = 'execute_tool'
        ),
        tool_by_parent AS (
            SELECT t.line_no, t.tid, t.sid, t.t_start, r.rep_sid
            FROM tools t LEFT JOIN call_rep r ON r.tid = t.tid AND r.sid = t.pid
        ),
        tool_by_time AS (
            SELECT t.line_no, t.tid, t.sid, t.t_start, c.rep_sid
            FROM (SELECT * FROM tool_by_parent WHERE rep_sid IS NULL) t
            ASOF LEFT JOIN (SELECT c.tid, c.t_start, r.rep_sid FROM calls c JOIN call_rep r USING (tid, sid)) c
                ON c.tid = t.tid AND t.t_start >= c.t_start
        ),
        tool_rep AS (
            SELECT * FROM tool_by_parent WHERE rep_sid IS NOT NULL
            UNION ALL SELECT * FROM tool_by_time
        ),
        tool_counts AS (
            SELECT tid, rep_sid, count(*) AS n FROM tool_rep WHERE rep_sid IS NOT NULL GROUP BY ALL
        ),
        line_use AS (
            SELECT line_no,
                   count(*) FILTER (WHERE kind = 'rep') AS reps,
                   count(*) FILTER (WHERE kind = 'orphan') AS orphans,
                   count(*) AS used
            FROM (
                SELECT rep_line AS line_no, 'rep' AS kind FROM groups
                UNION ALL SELECT line_no, 'call' FROM calls
                UNION ALL SELECT line_no, CASE WHEN rep_sid IS NULL THEN 'orphan' ELSE 'tool' END FROM tool_rep
            ) GROUP BY line_no
        ),
        reps AS (
            SELECT c.*, g.t0, g.t1, g.atts, tc.n AS tools_n, CAST(NULL AS VARCHAR) AS bad_reason
            FROM groups g
            JOIN calls c ON c.tid = g.tid AND c.sid = g.rep_sid AND c.line_no = g.rep_line
            LEFT JOIN tool_counts tc ON tc.tid = g.tid AND tc.rep_sid = g.rep_sid
        ),
        records AS (
            -- every request of a line, and every trace of it set aside, is a record of its own,
            -- numbered by start time
            SELECT *, CAST(row_number() OVER (PARTITION BY line_no ORDER BY t_start, sid, tid) - 1 AS INTEGER) AS record_no
            FROM (SELECT * FROM reps
                  UNION ALL BY NAME
                  SELECT line_no, tid, t_start, reason AS bad_reason FROM bad_traces)
        ),
        lines AS (
            SELECT l.line_no,
                   CASE
                       WHEN b.reason IS NOT NULL THEN b.reason
                       WHEN t.line_no IS NOT NULL THEN NULL  -- its records say
                       WHEN u.line_no IS NULL
                           THEN 'no model-call span (gen_ai.operation.name chat, text_completion or generate_content)'
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
            CASE WHEN r.bad_reason IS NULL THEN r.tid || '-' || r.sid ELSE r.tid END AS request_id,
            r.t0 AS ts,
            r.app,
            coalesce(r."a:user.id", r."a:enduser.id") AS user_raw,
            CAST(NULL AS VARCHAR) AS user_hash,
            coalesce(r."a:gen_ai.response.model", r.req_model) AS model,
            r.atts[-1].provider AS provider,
            CASE WHEN r.failed THEN 'error' ELSE 'success' END AS status,
            r.atts[-1].http_status AS http_status,
            CASE WHEN r.failed THEN coalesce(r."a:error.type", 'error') END AS error_type,
            CASE WHEN r.failed THEN 'error'
                 -- a response whose tool calls were executed is a tool call, whatever the native
                 -- reason (Gemini reports STOP alongside function calls)
                 WHEN r.tools_n > 0 AND coalesce({finish_sql(_first_finish(finish_attr))}, 'stop') = 'stop'
                     THEN 'tool_calls'
                 ELSE {finish_sql(_first_finish(finish_attr))} END AS finish_reason,
            {_first_finish(finish_attr)} AS native_finish_reason,
            CAST(NULL AS BOOLEAN) AS tools_offered,
            CAST(r.tools_n AS INTEGER) AS tool_call_count,
            TRY_CAST(coalesce(r."a:gen_ai.usage.input_tokens",
                              r."a:gen_ai.usage.prompt_tokens") AS BIGINT) AS input_tokens,
            TRY_CAST(r."a:gen_ai.usage.cache_read.input_tokens" AS BIGINT) AS cached_tokens,
            TRY_CAST(coalesce(r."a:gen_ai.usage.output_tokens",
                              r."a:gen_ai.usage.completion_tokens") AS BIGINT) AS output_tokens,
            TRY_CAST(r."a:gen_ai.usage.reasoning.output_tokens" AS BIGINT) AS reasoning_tokens,
            CAST(NULL AS DOUBLE) AS cost_usd,
            (epoch_us(r.t1) - epoch_us(r.t0)) / 1000.0 AS latency_ms,
            CAST(NULL AS DOUBLE) AS ttft_ms,
            CAST(NULL AS BOOLEAN) AS streamed,
            r.atts AS attempt_list
        FROM lines l LEFT JOIN records r ON r.line_no = l.line_no AND l.reason IS NULL
    """
