"""Writers for the real gateway formats: the same simulated traffic as the canonical writer,
serialised as OpenRouter generation records, LiteLLM StandardLoggingPayload records, OTLP/JSON
GenAI spans or raw response envelopes (``mixed`` interleaves all of them, canonical included).

Vectorised with polars string expressions (no per-row Python). Every line is built from the
simulated frame (see :mod:`.simulate`): one request -> one line, except LiteLLM, which writes one
record per provider attempt (failovers share a ``trace_id``). Values each format cannot carry
are left out (see docs/formats.md and ``tests/test_formats_crossformat.py``):
OpenRouter has no tools_offered / error_type / ttft and gives ``app_id`` (an integer) instead of
an app name; OTel spans carry no cost, ttft, streamed or tools_offered; envelopes carry no cost
or ttft. Message content is never generated (tool-call arguments are ``{}``).

Day files: ``DIR/YYYY/MM/DD/requests.jsonl``, lines in request-time order (attempts in order).
OTLP/JSON can also be written the way the collector's file exporter writes it, batching the
spans of several requests in one line (``otel_batch``; see :func:`otel_lines`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

from gatewaylens.generator.writers import TIER_PROVIDERS, canonical_lines, day_path, dims, request_model

FORMATS = ("openrouter", "litellm", "otel", "envelope", "mixed")
_MIXED_ORDER = ("canonical", "openrouter", "litellm", "otel", "envelope")

# --- provider and model vocabularies of each source ---------------------------------------
OPENROUTER_PROVIDER = {
    "anthropic": "Anthropic", "amazon-bedrock": "Amazon Bedrock", "google-vertex": "Google Vertex",
    "google-ai-studio": "Google AI Studio", "openai": "OpenAI", "azure": "Azure", "together": "Together",
    "fireworks": "Fireworks", "deepinfra": "DeepInfra", "novita": "Novita", "mistral": "Mistral", "deepseek": "DeepSeek",
}
LITELLM_PROVIDER = {
    "anthropic": "anthropic", "amazon-bedrock": "bedrock", "google-vertex": "vertex_ai", "google-ai-studio": "gemini",
    "openai": "openai", "azure": "azure", "together": "together_ai", "fireworks": "fireworks_ai",
    "deepinfra": "deepinfra", "novita": "novita", "mistral": "mistral", "deepseek": "deepseek",
}
OTEL_PROVIDER = {
    "anthropic": "anthropic", "amazon-bedrock": "aws.bedrock", "google-vertex": "gcp.vertex_ai",
    "google-ai-studio": "gcp.gemini", "openai": "openai", "azure": "azure.ai.openai", "together": "together_ai",
    "fireworks": "fireworks", "deepinfra": "deepinfra", "novita": "novita", "mistral": "mistral_ai", "deepseek": "deepseek",
}
# The id a provider's own API uses for a model ('*' = any provider); the alias table maps them back.
NATIVE_MODEL: dict[str, dict[str, str]] = {
    "anthropic/claude-opus-4.5": {"anthropic": "claude-opus-4-5-20251101",
                                  "amazon-bedrock": "anthropic.claude-opus-4-5-20251101-v1:0",
                                  "google-vertex": "claude-opus-4-5@20251101"},
    "anthropic/claude-sonnet-4.5": {"anthropic": "claude-sonnet-4-5-20250929",
                                    "amazon-bedrock": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                    "google-vertex": "claude-sonnet-4-5@20250929"},
    "anthropic/claude-haiku-4.5": {"anthropic": "claude-haiku-4-5-20251001",
                                   "amazon-bedrock": "anthropic.claude-haiku-4-5-20251001-v1:0",
                                   "google-vertex": "claude-haiku-4-5@20251001"},
    "openai/gpt-5": {"*": "gpt-5-2025-08-07"},
    "openai/gpt-5-mini": {"*": "gpt-5-mini-2025-08-07"},
    "openai/gpt-4o-mini": {"*": "gpt-4o-mini-2024-07-18"},
    "google/gemini-2.5-pro": {"*": "gemini-2.5-pro"},
    "google/gemini-2.5-flash": {"*": "gemini-2.5-flash"},
    "meta-llama/llama-3.3-70b-instruct": {"together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                                          "fireworks": "accounts/fireworks/models/llama-v3p3-70b-instruct",
                                          "*": "meta-llama/Llama-3.3-70B-Instruct"},
    "qwen/qwen3-235b-a22b": {"together": "Qwen/Qwen3-235B-A22B-fp8-tput",
                             "fireworks": "accounts/fireworks/models/qwen3-235b-a22b", "*": "Qwen/Qwen3-235B-A22B"},
    "mistralai/mistral-small-3.2": {"mistral": "mistral-small-2506",
                                    "*": "mistralai/Mistral-Small-3.2-24B-Instruct-2506"},
    "deepseek/deepseek-r1": {"deepseek": "deepseek-reasoner", "fireworks": "accounts/fireworks/models/deepseek-r1",
                             "*": "deepseek-ai/DeepSeek-R1"},
    "qwen/qwen3-coder": {"together": "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8",
                         "fireworks": "accounts/fireworks/models/qwen3-coder-480b-a35b-instruct",
                         "*": "Qwen/Qwen3-Coder-480B-A35B-Instruct"},
}
# OpenRouter's permaslug of a model (provider_responses[].model_permaslug): the dated id it routes to.
OPENROUTER_PERMASLUG: dict[str, str] = {
    "anthropic/claude-opus-4.5": "anthropic/claude-4.5-opus-20251101",
    "anthropic/claude-sonnet-4.5": "anthropic/claude-4.5-sonnet-20250929",
    "anthropic/claude-haiku-4.5": "anthropic/claude-4.5-haiku-20251001",
    "openai/gpt-5": "openai/gpt-5-2025-08-07",
    "openai/gpt-5-mini": "openai/gpt-5-mini-2025-08-07",
    "openai/gpt-4o-mini": "openai/gpt-4o-mini-2024-07-18",
}
_ERROR_CLASS = {429: "RateLimitError", 500: "InternalServerError", 502: "BadGatewayError",
                503: "ServiceUnavailableError", 504: "Timeout"}
_ISO_MS = "%Y-%m-%dT%H:%M:%S%.3f"


def _lit(s: str) -> pl.Expr:
    return pl.lit(s, dtype=pl.String)


def _s(expr: pl.Expr) -> pl.Expr:
    """JSON string (ASCII ids/slugs need no escaping); null -> null."""
    return (_lit('"') + expr + _lit('"')).fill_null("null")


def _q(expr: pl.Expr) -> pl.Expr:
    """JSON string, or null (for _opt: the key is left out)."""
    return _lit('"') + expr + _lit('"')


def _n(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("null")


def _b(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr).then(_lit("true")).when(~expr).then(_lit("false")).otherwise(_lit("null"))


def _opt(key: str, value: pl.Expr, sep: str = ",") -> pl.Expr:
    """',"key":value' when value is not null, else ''."""
    return (_lit(f'{sep}"{key}":') + value).fill_null("")


def _obj(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([_lit("{"), *parts, _lit("}")])


def _map(expr: pl.Expr, table: dict[str, str]) -> pl.Expr:
    return expr.replace_strict(table, default=expr, return_dtype=pl.String)


def _native(model: pl.Expr, provider: pl.Expr) -> pl.Expr:
    keys = {f"{m}|{p}": v for m, d in NATIVE_MODEL.items() for p, v in d.items()}
    pair = model + _lit("|") + provider
    any_ = model + _lit("|*")
    return pair.replace_strict(keys, default=None, return_dtype=pl.String).fill_null(
        any_.replace_strict(keys, default=None, return_dtype=pl.String)
    ).fill_null(model)


def _iso(ts: pl.Expr, suffix: str = "Z") -> pl.Expr:
    return ts.dt.strftime(_ISO_MS) + _lit(suffix)


def _nanos(ts: pl.Expr, plus_ms: pl.Expr | None = None) -> pl.Expr:
    ns = ts.dt.epoch("ns")
    if plus_ms is not None:
        ns = ns + (plus_ms * 1_000_000).round(0).cast(pl.Int64)
    return ns.cast(pl.String)


def _prep(frame: pl.DataFrame) -> pl.DataFrame:
    """Common helper columns: row number, attempt count, hex trace id, native model id."""
    return frame.with_columns(
        _row=pl.int_range(pl.len(), dtype=pl.Int64),
        _n_att=pl.col("attempts").list.len(),
        # 32 hex digits (an OTel trace id) from the request id's own hex/decimal characters.
        _tid=pl.col("request_id").str.strip_prefix("req-").str.replace_all("[^0-9a-f]", "").str.slice(-32).str.zfill(32),
        _native=_native(pl.col("model"), pl.col("provider")),
        _cached0=pl.col("cached_tokens").fill_null(0),
        **dims(frame),
    )



# --- OpenRouter ----------------------------------------------------------------------------
def openrouter_lines(frame: pl.DataFrame) -> pl.DataFrame:
    f = _prep(frame)
    max_att = int(f["_n_att"].max() or 1)
    apps = sorted(frame["app"].drop_nulls().unique().to_list())
    app_ids = {a: str(1000 + i) for i, a in enumerate(apps)}
    responses = []
    for i in range(max_att):
        a = pl.col("attempts").list.get(i, null_on_oob=True)
        item = _obj(
            _lit('"provider_name":'), _s(_map(a.struct.field("provider"), OPENROUTER_PROVIDER)),
            _lit(',"status":'), _n(a.struct.field("http_status")),
            _lit(',"latency":'), _n(a.struct.field("latency_ms")),
            # the first attempt ran the requested model (a model fallback served another one after it)
            _lit(',"model_permaslug":'), _s(_map(pl.col("_requested") if i == 0 else pl.col("model"), OPENROUTER_PERMASLUG)),
        )
        responses.append(pl.when(pl.col("_n_att") > i).then((_lit(",") if i else _lit("")) + item).otherwise(_lit("")))
    body = _obj(
        _lit('"id":'), _s(pl.lit("gen-") + pl.col("request_id")),
        _lit(',"created_at":'), _s(_iso(pl.col("ts"), "+00:00")),
        _lit(',"model":'), _s(pl.col("model")),
        _lit(',"provider_name":'), _s(_map(pl.col("provider"), OPENROUTER_PROVIDER)),
        _lit(',"app_id":'), _n(pl.col("app").replace_strict(app_ids, default=None).cast(pl.Int64)),
        _lit(',"external_user":'), _s(pl.col("user")),
        _lit(',"streamed":'), _b(pl.col("streamed")),
        _lit(',"cancelled":false,"finish_reason":'), _s(pl.col("finish_reason")),
        _lit(',"native_finish_reason":'), _s(pl.col("native_finish_reason")),
        _lit(',"latency":'), _n(pl.col("latency_ms")),
        _lit(',"generation_time":'), _n((pl.col("latency_ms") - pl.col("ttft_ms").fill_null(0)).round(1)),
        _lit(',"tokens_prompt":'), _n(pl.col("input_tokens")),
        _lit(',"tokens_completion":'), _n(pl.col("output_tokens")),
        _lit(',"native_tokens_prompt":'), _n(pl.col("input_tokens")),
        _lit(',"native_tokens_completion":'), _n(pl.col("output_tokens")),
        _lit(',"native_tokens_reasoning":'), _n(pl.col("reasoning_tokens")),
        _lit(',"native_tokens_cached":'), _n(pl.col("cached_tokens")),
        _lit(',"total_cost":'), _n(pl.col("cost_usd")),
        _opt("service_tier", _q(pl.col("_tier"))),
        _lit(',"is_byok":false,"provider_responses":['), pl.concat_str(responses), _lit("]"),
    )
    # Every tenth record is logged as the endpoint's {"data": {...}} response.
    line = pl.when(pl.col("_row") % 10 == 0).then(_lit('{"data":') + body + _lit("}")).otherwise(body)
    return f.select("day", "_row", _sub=pl.lit(0, pl.Int32), line=line)


# --- LiteLLM -------------------------------------------------------------------------------
def litellm_lines(frame: pl.DataFrame) -> pl.DataFrame:
    f = _prep(frame).with_columns(_end_ms=pl.col("latency_ms"))
    att = (
        f.with_columns(_att_no=pl.int_ranges(0, pl.col("_n_att"), dtype=pl.Int32))
        .explode("attempts", "_att_no")
        .with_columns(pl.col("attempts").struct.unnest().name.prefix("a_"))
    )
    final = pl.col("_att_no") == pl.col("_n_att") - 1
    ok = final & (pl.col("status") == "success")
    cp = _map(pl.col("a_provider"), LITELLM_PROVIDER)
    # a model fallback's first call ran the requested model (its own model_group); later calls the served one
    att_model = pl.when(pl.col("_att_no") == 0).then(pl.col("_requested")).otherwise(pl.col("model"))
    native = _native(att_model, pl.col("a_provider"))
    model = pl.when(cp.is_in(["bedrock", "vertex_ai"])).then(cp + _lit("/") + native).otherwise(native)
    start = pl.col("a_ts")
    end_ms = pl.when(final).then(
        (pl.col("ts").dt.epoch("ms") - start.dt.epoch("ms")).cast(pl.Float64) + pl.col("latency_ms")
    ).otherwise(pl.col("a_latency_ms"))
    end = start + pl.duration(microseconds=(end_ms * 1000).round(0).cast(pl.Int64))
    first = pl.when(final & pl.col("streamed") & pl.col("ttft_ms").is_not_null()).then(
        pl.col("ts") + pl.duration(microseconds=(pl.col("ttft_ms") * 1000).round(0).cast(pl.Int64))
    ).otherwise(end)
    epoch_style = pl.col("_row") % 2 == 0  # both timestamp styles occur in the wild

    def t(e: pl.Expr) -> pl.Expr:
        return pl.when(epoch_style).then(
            (e.dt.epoch("us").cast(pl.Float64) / 1e6).round(6).cast(pl.String)
        ).otherwise(_lit('"') + e.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f") + _lit('"'))

    max_tools = int(frame["tool_call_count"].max() or 0)
    tool_calls = pl.concat_str(
        [pl.when(pl.col("tool_call_count") > i).then(
            _lit(("," if i else "") + f'{{"id":"call_{i}","type":"function","function":{{"name":"tool_{i}","arguments":"{{}}"}}}}')
        ).otherwise(_lit("")) for i in range(max_tools)] or [_lit("")]
    )
    usage = _obj(
        _lit('"prompt_tokens":'), _n(pl.col("input_tokens")),
        _lit(',"completion_tokens":'), _n(pl.col("output_tokens")),
        _lit(',"total_tokens":'), _n(pl.col("input_tokens") + pl.col("output_tokens")),
        _opt("completion_tokens_details", _lit('{"reasoning_tokens":') + pl.col("reasoning_tokens").cast(pl.String) + _lit("}")),
        _opt("prompt_tokens_details", _lit('{"cached_tokens":') + pl.col("cached_tokens").cast(pl.String) + _lit("}")),
        _opt("cache_creation_input_tokens", pl.col("_cache_write").cast(pl.String)),
    )
    response = _obj(
        _lit('"id":'), _s(pl.lit("chatcmpl-") + pl.col("_tid")),
        _lit(',"object":"chat.completion","model":'), _s(native),
        _lit(',"choices":[{"index":0,"finish_reason":'), _s(pl.col("finish_reason")),
        _lit(',"message":{"role":"assistant","content":null'),
        pl.when(pl.col("tool_call_count") > 0).then(_lit(',"tool_calls":[') + tool_calls + _lit("]")).otherwise(_lit("")),
        _lit('}}],"usage":'), usage,
        _opt("service_tier", _q(pl.col("_tier"))),
    )
    status = pl.col("a_http_status")
    err_class = pl.when(final).then(pl.col("error_type")).otherwise(
        status.replace_strict(_ERROR_CLASS, default="APIError", return_dtype=pl.String))
    error_info = _obj(
        _lit('"error_code":'), _s(status.cast(pl.String)),
        _lit(',"error_class":'), _s(err_class),
        _lit(',"llm_provider":'), _s(cp),
    )
    tools = pl.when(pl.col("tools_offered")).then(_lit('{"temperature":0.2,"tools":[{"type":"function","function":{"name":"tool_0"}}]}')).when(
        ~pl.col("tools_offered")).then(_lit('{"temperature":0.2}')).otherwise(None)
    cost = pl.when(pl.col("cost_usd").is_null()).then(None).when(ok).then(pl.col("cost_usd")).otherwise(0.0)
    line = _obj(
        _lit('"id":'), _s(pl.col("request_id") + _lit("-") + pl.col("_att_no").cast(pl.String)),
        _lit(',"trace_id":'), _s(pl.col("request_id")),
        _lit(',"call_type":"acompletion","status":'), _s(pl.when(ok).then(_lit("success")).otherwise(_lit("failure"))),
        _lit(',"model":'), _s(model),
        _lit(',"model_group":'), _s(request_model(att_model)),
        _lit(',"custom_llm_provider":'), _s(cp),
        _lit(',"api_base":'), _s(_lit("https://") + cp + _lit(".example/v1")),
        _lit(',"response_cost":'), _n(cost),
        _lit(',"prompt_tokens":'), _n(pl.when(final).then(pl.col("input_tokens")).otherwise(0)),
        _lit(',"completion_tokens":'), _n(pl.when(final).then(pl.col("output_tokens")).otherwise(0)),
        _lit(',"startTime":'), t(start), _lit(',"endTime":'), t(end), _lit(',"completionStartTime":'), t(first),
        _lit(',"stream":'), _b(pl.col("streamed")),
        _lit(',"end_user":'), _s(pl.col("user")),
        _lit(',"metadata":{"user_api_key_alias":'), _s(pl.col("app")), _lit(',"user_api_key_team_alias":'), _s(pl.col("_team")),
        _opt("requester_metadata", _lit('{"session_id":') + _q(pl.col("_session")) + _lit("}")), _lit("}"),
        _lit(',"request_tags":'), pl.col("_tags").fill_null("[]"),
        _opt("model_parameters", tools),
        _lit(',"error_information":'), pl.when(ok).then(_lit("null")).otherwise(error_info),
        _lit(',"response":'), pl.when(ok).then(response).otherwise(_lit("null")),
    )
    return att.select("day", "_row", _sub=pl.col("_att_no"), line=line)


# --- OpenTelemetry (OTLP/JSON) -------------------------------------------------------------
def _kv(key: str, kind: str, value: pl.Expr, first: bool = False) -> pl.Expr:
    """An OTLP attribute {"key":..,"value":{kind: value}}; '' when value is null."""
    if kind == "stringValue":
        v = _lit('"') + value + _lit('"')
    elif kind == "intValue":
        v = _lit('"') + value.cast(pl.String) + _lit('"')
    else:
        v = value
    sep = "" if first else ","
    return (_lit(f'{sep}{{"key":"{key}","value":{{"{kind}":') + v + _lit("}}")).fill_null("")


def otel_lines(frame: pl.DataFrame, batch: int = 1) -> pl.DataFrame:
    """One OTLP/JSON export line per request, or with ``batch`` > 1 one line per ``batch``
    consecutive requests of a day, as the collector's file exporter batches traces: the
    requests of a line are grouped by resource (``service.name`` = app, one ``resourceSpans``
    entry per app, in order of first appearance) and keep their spans in request order."""
    if batch < 1:
        raise ValueError(f"otel batch must be >= 1 (got {batch})")
    f = _prep(frame)
    max_att = int(f["_n_att"].max() or 1)
    max_tools = int(frame["tool_call_count"].max() or 0)
    root_sid = _lit("00000000000000f0")
    end_all = _nanos(pl.col("ts"), pl.col("latency_ms"))
    # the root span: the agent's invoke_agent span (agent apps), else the gateway's server span
    root_name = pl.when(pl.col("_agent").is_null()).then(_lit("POST /v1/chat/completions")).otherwise(
        _lit("invoke_agent ") + pl.col("_agent"))
    root_attrs = pl.when(pl.col("_agent").is_null()).then(
        _lit('{"key":"http.request.method","value":{"stringValue":"POST"}}')).otherwise(
        _lit('{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},'
             '{"key":"gen_ai.agent.name","value":{"stringValue":"') + pl.col("_agent") + _lit('"}}'))
    spans = [_obj(
        _lit('"traceId":"'), pl.col("_tid"), _lit('","spanId":"'), root_sid,
        _lit('","parentSpanId":"","name":"'), root_name, _lit('","kind":2,"startTimeUnixNano":"'),
        _nanos(pl.col("ts")), _lit('","endTimeUnixNano":"'), end_all,
        _lit('","attributes":['), root_attrs, _lit('],"status":{}'),
    )]
    for i in range(max_att):
        a = pl.col("attempts").list.get(i, null_on_oob=True)
        final = pl.col("_n_att") == i + 1
        failed = a.struct.field("http_status") >= 400
        prov = a.struct.field("provider")
        native = _native(pl.col("model"), prov)
        start = _nanos(a.struct.field("ts"))
        end = pl.when(final).then(end_all).otherwise(_nanos(a.struct.field("ts"), a.struct.field("latency_ms")))
        on_final = lambda e: pl.when(final).then(e).otherwise(None)  # noqa: E731
        attrs = pl.concat_str([
            _kv("gen_ai.operation.name", "stringValue", _lit("chat"), first=True),
            _kv("gen_ai.provider.name", "stringValue", _map(prov, OTEL_PROVIDER)),
            _kv("gen_ai.request.model", "stringValue", request_model(pl.col("_requested"))),
            _kv("gen_ai.response.model", "stringValue", pl.when(failed).then(None).otherwise(native)),
            _kv("gen_ai.response.id", "stringValue", pl.when(failed).then(None).otherwise(_lit("resp-") + pl.col("_tid"))),
            _kv("gen_ai.response.finish_reasons", "arrayValue",
                pl.when(failed | ~final).then(None).otherwise(
                    _lit('{"values":[{"stringValue":"') + pl.col("native_finish_reason").fill_null(pl.col("finish_reason")) + _lit('"}]}'))),
            _kv("gen_ai.usage.input_tokens", "intValue", on_final(pl.col("input_tokens"))),
            _kv("gen_ai.usage.output_tokens", "intValue", on_final(pl.col("output_tokens"))),
            _kv("gen_ai.usage.cache_read.input_tokens", "intValue", on_final(pl.col("cached_tokens"))),
            _kv("gen_ai.usage.reasoning.output_tokens", "intValue", on_final(pl.col("reasoning_tokens"))),
            _kv("error.type", "stringValue", pl.when(failed).then(
                pl.when(final).then(pl.col("error_type")).otherwise(a.struct.field("http_status").cast(pl.String)))),
            _kv("http.response.status_code", "intValue", a.struct.field("http_status")),
            _kv("user.id", "stringValue", pl.col("user")),
            _kv("gen_ai.conversation.id", "stringValue", pl.col("_session")),
            _kv("gen_ai.usage.cache_creation.input_tokens", "intValue", on_final(pl.col("_cache_write"))),
            _kv("openai.response.service_tier", "stringValue",
                pl.when(failed | ~prov.is_in(TIER_PROVIDERS)).then(None).otherwise(pl.col("_tier"))),
        ])
        span = _obj(
            _lit('"traceId":"'), pl.col("_tid"), _lit(f'","spanId":"00000000000000a{i}","parentSpanId":"'), root_sid,
            _lit('","name":"chat '), request_model(pl.col("_requested")),
            _lit('","kind":3,"startTimeUnixNano":"'), start, _lit('","endTimeUnixNano":"'), end,
            _lit('","attributes":['), attrs, _lit("],\"status\":"),
            pl.when(failed).then(_lit('{"code":2}')).otherwise(_lit("{}")),
        )
        spans.append(pl.when(pl.col("_n_att") > i).then(_lit(",") + span).otherwise(_lit("")))
    last_sid = _lit("00000000000000a") + (pl.col("_n_att") - 1).cast(pl.String)
    for j in range(max_tools):
        t0 = _nanos(pl.col("ts"), pl.col("latency_ms") + 5.0 + 20.0 * j)
        t1 = _nanos(pl.col("ts"), pl.col("latency_ms") + 20.0 + 20.0 * j)
        span = _obj(
            _lit('"traceId":"'), pl.col("_tid"), _lit(f'","spanId":"00000000000000c{j}","parentSpanId":"'), last_sid,
            _lit(f'","name":"execute_tool tool_{j}","kind":1,"startTimeUnixNano":"'), t0,
            _lit('","endTimeUnixNano":"'), t1,
            _lit(f'","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"execute_tool"}}}},'
                 f'{{"key":"gen_ai.tool.name","value":{{"stringValue":"tool_{j}"}}}}],"status":{{}}'),
        )
        spans.append(pl.when(pl.col("tool_call_count") > j).then(_lit(",") + span).otherwise(_lit("")))
    def resource(app: pl.Expr, spans_json: pl.Expr) -> pl.Expr:
        return pl.concat_str([
            _lit('{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"'), app,
            _lit('"}}]},"scopeSpans":[{"scope":{"name":"gatewaylens.generator"},"spans":['), spans_json, _lit("]}]}"),
        ])

    if batch == 1:
        line = _lit('{"resourceSpans":[') + resource(pl.col("app"), pl.concat_str(spans)) + _lit("]}")
        return f.select("day", "_row", _sub=pl.lit(0, pl.Int32), line=line)
    # every span string but the first starts with ','; the root span comes first
    per_request = f.select("day", "_row", "app", spans=pl.concat_str(spans))
    per_request = per_request.with_columns(_batch=pl.int_range(pl.len(), dtype=pl.Int64).over("day") // batch)
    per_resource = per_request.group_by("day", "_batch", "app", maintain_order=True).agg(
        _row=pl.col("_row").first(), spans=pl.col("spans").str.join(","))
    per_line = per_resource.group_by("day", "_batch", maintain_order=True).agg(
        _row=pl.col("_row").min(), resources=resource(pl.col("app"), pl.col("spans")).str.join(","))
    return per_line.select("day", "_row", _sub=pl.lit(0, pl.Int32),
                           line=_lit('{"resourceSpans":[') + pl.col("resources") + _lit("]}"))


# --- raw response envelopes ----------------------------------------------------------------
def envelope_lines(frame: pl.DataFrame) -> pl.DataFrame:
    f = _prep(frame)
    max_tools = int(frame["tool_call_count"].max() or 0)
    err = pl.col("status") == "error"
    anthropic = pl.col("model").str.starts_with("anthropic/")
    responses_api = pl.col("model").str.starts_with("openai/gpt-5")

    def repeat(piece: str) -> pl.Expr:
        return pl.concat_str([pl.when(pl.col("tool_call_count") > i).then(_lit(("," if i else "") + piece.format(i=i)))
                              .otherwise(_lit("")) for i in range(max_tools)] or [_lit("")])

    chat = _obj(
        _lit('"id":"chatcmpl-'), pl.col("_tid"), _lit('","object":"chat.completion","model":'), _s(pl.col("_native")),
        _lit(',"choices":[{"index":0,"finish_reason":'), _s(pl.col("finish_reason")),
        _lit(',"message":{"role":"assistant","content":null'),
        pl.when(pl.col("tool_call_count") > 0).then(_lit(',"tool_calls":[') + repeat(
            '{{"id":"call_{i}","type":"function","function":{{"name":"tool_{i}","arguments":"{{}}"}}}}') + _lit("]")
        ).otherwise(_lit("")),
        _lit('}}]'), _opt("service_tier", _q(pl.col("_tier"))), _lit(',"usage":{"prompt_tokens":'), _n(pl.col("input_tokens")),
        _lit(',"completion_tokens":'), _n(pl.col("output_tokens")),
        _opt("completion_tokens_details", _lit('{"reasoning_tokens":') + pl.col("reasoning_tokens").cast(pl.String) + _lit("}")),
        _opt("prompt_tokens_details", _lit('{"cached_tokens":') + pl.col("cached_tokens").cast(pl.String) + _lit("}")),
        _lit("}"),
    )
    incomplete = pl.col("finish_reason").is_in(["length", "content_filter"])
    resp = _obj(
        _lit('"id":"resp_'), pl.col("_tid"), _lit('","object":"response","status":'),
        pl.when(incomplete).then(_lit('"incomplete"')).otherwise(_lit('"completed"')),
        _lit(',"incomplete_details":'),
        pl.when(pl.col("finish_reason") == "length").then(_lit('{"reason":"max_output_tokens"}'))
        .when(pl.col("finish_reason") == "content_filter").then(_lit('{"reason":"content_filter"}')).otherwise(_lit("null")),
        _lit(',"model":'), _s(pl.col("_native")), _opt("service_tier", _q(pl.col("_tier"))), _lit(',"error":null,"output":['),
        pl.when(pl.col("tool_call_count") > 0).then(repeat(
            '{{"type":"function_call","id":"fc_{i}","call_id":"call_{i}","name":"tool_{i}","arguments":"{{}}"}}'
        )).otherwise(_lit('{"type":"message","role":"assistant","content":[]}')),
        _lit('],"usage":{"input_tokens":'), _n(pl.col("input_tokens")),
        _opt("input_tokens_details", _lit('{"cached_tokens":') + pl.col("cached_tokens").cast(pl.String) + _lit("}")),
        _lit(',"output_tokens":'), _n(pl.col("output_tokens")),
        _opt("output_tokens_details", _lit('{"reasoning_tokens":') + pl.col("reasoning_tokens").cast(pl.String) + _lit("}")),
        _lit("}"),
    )
    msg = _obj(
        _lit('"id":"msg_'), pl.col("_tid"), _lit('","type":"message","role":"assistant","model":'), _s(pl.col("_native")),
        _lit(',"content":['),
        pl.when(pl.col("tool_call_count") > 0).then(repeat('{{"type":"tool_use","id":"toolu_{i}","name":"tool_{i}","input":{{}}}}'))
        .otherwise(_lit('{"type":"text","text":""}')),
        _lit('],"stop_reason":'), _s(pl.col("native_finish_reason").fill_null(pl.col("finish_reason"))),
        _lit(',"usage":{"input_tokens":'), _n(pl.col("input_tokens") - pl.col("_cached0") - pl.col("_cache_write").fill_null(0)),
        _opt("cache_read_input_tokens", pl.col("cached_tokens").cast(pl.String)),
        _lit(',"cache_creation_input_tokens":'), _n(pl.col("_cache_write").fill_null(0)),
        _lit(',"output_tokens":'), _n(pl.col("output_tokens")),
        _opt("output_tokens_details", _lit('{"thinking_tokens":') + pl.col("reasoning_tokens").cast(pl.String) + _lit("}")),
        _lit("}"),
    )
    error = pl.when(anthropic).then(
        _lit('{"type":"error","error":{"type":') + _s(pl.col("error_type")) + _lit(',"message":"upstream error"}}')
    ).otherwise(_lit('{"error":{"type":') + _s(pl.col("error_type")) + _lit(',"message":"upstream error","code":null}}'))
    response = pl.when(err).then(error).when(anthropic).then(msg).when(responses_api).then(resp).otherwise(chat)
    request = pl.when(pl.col("tools_offered").is_null()).then(None).otherwise(_obj(
        _lit('"model":'), _s(request_model(pl.col("_requested"))),
        _lit(',"stream":'), _b(pl.col("streamed")),
        pl.when(pl.col("tools_offered")).then(_lit(',"tools":[{"type":"function","function":{"name":"tool_0"}}]'))
        .otherwise(_lit("")),
    ))
    attempts = []
    max_att = int(f["_n_att"].max() or 1)
    for i in range(max_att):
        a = pl.col("attempts").list.get(i, null_on_oob=True)
        item = _obj(_lit('"provider":'), _s(a.struct.field("provider")),
                    _lit(',"http_status":'), _n(a.struct.field("http_status")),
                    _lit(',"latency_ms":'), _n(a.struct.field("latency_ms")),
                    _lit(',"ts":'), _s(_iso(a.struct.field("ts"))))
        attempts.append(pl.when(pl.col("_n_att") > i).then((_lit(",") if i else _lit("")) + item).otherwise(_lit("")))
    line = _obj(
        _lit('"ts":'), _s(_iso(pl.col("ts"))),
        _lit(',"request_id":'), _s(pl.col("request_id")),
        _lit(',"provider":'), _s(pl.col("provider")),
        _lit(',"model":'), _s(request_model(pl.col("_requested"))),
        _lit(',"app":'), _s(pl.col("app")),
        _lit(',"user":'), _s(pl.col("user")),
        _opt("session_id", _q(pl.col("_session"))),
        _opt("team", _q(pl.col("_team"))),
        _opt("tags", pl.col("_tags")),
        _opt("agent", _q(pl.col("_agent"))),
        _lit(',"latency_ms":'), _n(pl.col("latency_ms")),
        _lit(',"status":'), _n(pl.col("http_status")),
        pl.when(pl.col("_n_att") > 1).then(_lit(',"attempts":[') + pl.concat_str(attempts) + _lit("]")).otherwise(_lit("")),
        _opt("request", request),
        _lit(',"response":'), response,
    )
    return f.select("day", "_row", _sub=pl.lit(0, pl.Int32), line=line)


def canonical_rows(frame: pl.DataFrame) -> pl.DataFrame:
    f = _prep(frame)
    return f.select("day", "_row", _sub=pl.lit(0, pl.Int32), line=canonical_lines(frame))


BUILDERS = {
    "canonical": canonical_rows,
    "openrouter": openrouter_lines,
    "litellm": litellm_lines,
    "otel": otel_lines,
    "envelope": envelope_lines,
}


def check_otel_batch(fmt: str, otel_batch: int) -> None:
    """Raise ValueError unless ``otel_batch`` is 1, or >= 1 with ``fmt`` otel."""
    if otel_batch != 1 and fmt != "otel":
        raise ValueError(f"--otel-batch only applies to --format otel (got --format {fmt})")
    if otel_batch < 1:
        raise ValueError(f"--otel-batch must be >= 1 (got {otel_batch})")


def format_lines(frame: pl.DataFrame, fmt: str, otel_batch: int = 1) -> pl.DataFrame:
    """Columns day, _row, _sub, line: the frame's requests as lines of ``fmt`` in order.

    ``mixed``: request i is written in format ``_MIXED_ORDER[i % 5]`` (canonical included).
    ``otel_batch`` (``otel`` only): requests per OTLP line (see :func:`otel_lines`).
    """
    check_otel_batch(fmt, otel_batch)
    if fmt == "otel":
        return otel_lines(frame, otel_batch).sort("_row", "_sub")
    if fmt != "mixed":
        return BUILDERS[fmt](frame).sort("_row", "_sub")
    pick = np.arange(frame.height) % len(_MIXED_ORDER)
    parts = []
    for k, name in enumerate(_MIXED_ORDER):
        idx = np.flatnonzero(pick == k)
        if len(idx) == 0:
            continue
        sub = BUILDERS[name](frame[idx])
        parts.append(sub.with_columns(_row=pl.Series("_row", idx[sub["_row"].to_numpy()], dtype=pl.Int64)))
    return pl.concat(parts).sort("_row", "_sub")


def make_writer(fmt: str, otel_batch: int = 1):
    """A writer with the generator's signature for ``fmt`` (one file per UTC day)."""
    check_otel_batch(fmt, otel_batch)

    def write(frame: pl.DataFrame, out: Path, *, bad_rate: float, seed: int, bad_counts: Counter) -> list[Path]:
        if bad_rate > 0:
            raise ValueError(f"--bad-rate is only supported with --format canonical (got --format {fmt})")
        lines = format_lines(frame, fmt, otel_batch)
        paths = []
        for (day,), chunk in lines.group_by("day", maintain_order=True):
            path = day_path(out, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(chunk["line"].str.join("\n").item() + "\n", encoding="utf-8")
            paths.append(path)
        return paths

    write.__name__ = f"write_{fmt}_days"
    return write
