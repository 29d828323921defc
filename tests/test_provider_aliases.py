"""Provider names as each convention documents them -> one provider slug (data/provider_aliases.csv).

Values come from the conventions' published enumerations: OTel GenAI ``gen_ai.provider.name``
(and the older ``gen_ai.system``) well-known values, OpenInference ``OpenInferenceLLMProviderValues``
(``llm.provider``) and ``OpenInferenceLLMSystemValues`` (``llm.system``), OpenLLMetry's
``GenAISystem`` (``gen_ai.system``), LiteLLM's ``custom_llm_provider`` and OpenRouter's provider names.
"""

from __future__ import annotations

import duckdb
import pytest

from gatewaylens.formats._common import provider_sql
from gatewaylens.providers import load_providers
from tests.test_formats_fixtures import ingest, otlp_line, otlp_span, rows

CASES = [
    # OTel GenAI semconv gen_ai.provider.name (current) and gen_ai.system (older)
    ("semconv", "aws.bedrock", "amazon-bedrock"),
    ("semconv", "gcp.vertex_ai", "google-vertex"),
    ("semconv", "gcp.gemini", "google-ai-studio"),
    ("semconv", "gcp.gen_ai", "google-ai-studio"),
    ("semconv", "azure.ai.openai", "azure"),
    ("semconv", "azure.ai.inference", "azure"),
    ("semconv", "az.ai.inference", "azure"),
    ("semconv", "az.ai.openai", "azure"),
    ("semconv", "mistral_ai", "mistral"),
    ("semconv", "openai", "openai"),
    ("semconv", "anthropic", "anthropic"),
    ("semconv", "deepseek", "deepseek"),
    # OpenInference llm.provider / llm.system
    ("openinference", "aws", "amazon-bedrock"),
    ("openinference", "google", "google-vertex"),
    ("openinference", "azure", "azure"),
    ("openinference", "mistralai", "mistral"),
    ("openinference", "vertexai", "google-vertex"),
    # OpenLLMetry GenAISystem (gen_ai.system), as written: case and spelling of the instrumentations
    ("openllmetry", "AWS", "amazon-bedrock"),
    ("openllmetry", "Google", "google-vertex"),
    ("openllmetry", "Azure", "azure"),
    ("openllmetry", "MistralAI", "mistral"),
    ("openllmetry", "TogetherAI", "together"),
    ("openllmetry", "Fireworks", "fireworks"),
    ("openllmetry", "Anthropic", "anthropic"),
    # LiteLLM custom_llm_provider and OpenRouter provider_name
    ("litellm", "bedrock", "amazon-bedrock"),
    ("litellm", "vertex_ai", "google-vertex"),
    ("litellm", "gemini", "google-ai-studio"),
    ("litellm", "together_ai", "together"),
    ("openrouter", "Google", "google-vertex"),
    ("openrouter", "Google AI Studio", "google-ai-studio"),
    ("openrouter", "Amazon Bedrock", "amazon-bedrock"),
    ("openrouter", "DeepInfra", "deepinfra"),
]


@pytest.mark.parametrize(("convention", "raw", "slug"), CASES, ids=[f"{c}:{r}" for c, r, _ in CASES])
def test_documented_provider_values_map_to_one_slug(convention: str, raw: str, slug: str) -> None:
    con = duckdb.connect()
    got = con.execute(f"SELECT {provider_sql('$raw')}", {"raw": raw}).fetchall()[0][0]
    con.close()
    assert got == slug, (convention, raw)


def test_every_mapped_slug_has_a_catalogue_row() -> None:
    """The Data policy page can only answer for providers the catalogue knows."""
    catalogue = set(load_providers(use_env=False)["provider"].to_list())
    assert {slug for _, _, slug in CASES} <= catalogue


def test_unknown_provider_is_kept_in_slug_form() -> None:
    """A name nobody maps is kept (slug form), never guessed into another provider."""
    con = duckdb.connect()
    got = con.execute(f"SELECT {provider_sql('$raw')}", {"raw": "x_ai"}).fetchall()[0][0]
    con.close()
    assert got == "x-ai"


def test_openinference_aws_and_google_spans_ingest_with_catalogue_providers(con, tmp_path) -> None:
    """End to end: OpenInference LLM spans naming their host 'aws' / 'google' and a semconv span naming
    'gcp.gen_ai' land on the catalogue's providers."""
    trace = "0" * 31 + "1"
    spans = []
    for n, (key, value, model) in enumerate([
        ("llm.provider", "aws", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("llm.provider", "google", "gemini-2.5-flash"),
        ("gen_ai.provider.name", "gcp.gen_ai", "gemini-2.5-flash"),
    ]):
        t0 = 1_748_772_000_000_000_000 + n * 10_000_000_000
        if key == "llm.provider":
            attrs = {"openinference.span.kind": "LLM", "llm.model_name": model, key: value,
                     "llm.token_count.prompt": 100, "llm.token_count.completion": 10}
        else:
            attrs = {"gen_ai.operation.name": "chat", key: value, "gen_ai.request.model": model,
                     "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
        spans.append(otlp_span(trace, f"{n + 1:016x}", "", t0, t0 + 1_000_000_000, attrs))
    res = ingest(con, tmp_path, [otlp_line(spans)])
    assert (res.rows_inserted, res.quarantined) == (3, 0)
    got = sorted(r["provider"] for r in rows(con).values())
    assert got == ["amazon-bedrock", "google-ai-studio", "google-vertex"]
