"""Model identity: real model ids as each source spells them -> one canonical slug.

The ids come from the providers' own documentation and model lists (OpenAI and Anthropic model
pages, Amazon Bedrock model ids / inference profiles / ARNs, Vertex AI model ids, the Gemini API,
Fireworks, Together, DeepInfra and Groq model lists, LiteLLM's provider-prefixed names, OpenRouter
slugs and permaslugs). Each must resolve to OpenRouter's slug of the model.
"""

from __future__ import annotations

import duckdb
import pytest

from gatewaylens import identity
from gatewaylens.identity import Resolver

REAL_IDS: list[tuple[str, str, str]] = [
    # (source, raw id, expected slug)
    # OpenAI API: aliases and dated snapshots
    ("openai", "gpt-4o", "openai/gpt-4o"),
    ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
    ("openai", "gpt-4o-2024-11-20", "openai/gpt-4o"),
    ("openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
    ("openai", "gpt-4.1", "openai/gpt-4.1"),
    ("openai", "gpt-4.1-2025-04-14", "openai/gpt-4.1"),
    ("openai", "gpt-4.1-mini-2025-04-14", "openai/gpt-4.1-mini"),
    ("openai", "gpt-4.1-nano-2025-04-14", "openai/gpt-4.1-nano"),
    ("openai", "o4-mini-2025-04-16", "openai/o4-mini"),
    ("openai", "o3-2025-04-16", "openai/o3"),
    ("openai", "o3-mini-2025-01-31", "openai/o3-mini"),
    ("openai", "o1-2024-12-17", "openai/o1"),
    ("openai", "gpt-4-turbo-2024-04-09", "openai/gpt-4-turbo"),
    ("openai", "gpt-5-2025-08-07", "openai/gpt-5"),
    ("openai", "gpt-5-mini-2025-08-07", "openai/gpt-5-mini"),
    ("openai", "gpt-5-nano-2025-08-07", "openai/gpt-5-nano"),
    ("openai", "chatgpt-4o-latest", "openai/chatgpt-4o-latest"),
    # Azure OpenAI model names (deployments are site-specific: see the settings test below)
    ("azure", "gpt-35-turbo", "openai/gpt-3.5-turbo"),
    # Anthropic API: dated ids and aliases
    ("anthropic", "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
    ("anthropic", "claude-opus-4-20250514", "anthropic/claude-opus-4"),
    ("anthropic", "claude-opus-4-1-20250805", "anthropic/claude-opus-4.1"),
    ("anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
    ("anthropic", "claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5"),
    ("anthropic", "claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet"),
    ("anthropic", "claude-3-7-sonnet-latest", "anthropic/claude-3.7-sonnet"),
    ("anthropic", "claude-3-5-sonnet-20241022", "anthropic/claude-3.5-sonnet"),
    ("anthropic", "claude-3-5-haiku-20241022", "anthropic/claude-3.5-haiku"),
    ("anthropic", "claude-3-haiku-20240307", "anthropic/claude-3-haiku"),
    # Amazon Bedrock: model ids, cross-region inference profiles, ARNs
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic/claude-3.5-sonnet"),
    ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", "anthropic/claude-3-haiku"),
    ("bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic/claude-3.7-sonnet"),
    ("bedrock", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic/claude-3.7-sonnet"),
    ("bedrock", "apac.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic/claude-sonnet-4"),
    ("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic/claude-sonnet-4"),
    ("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic/claude-sonnet-4.5"),
    ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
     "anthropic/claude-3.7-sonnet"),
    ("bedrock", "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
     "anthropic/claude-3-haiku"),
    ("bedrock", "meta.llama3-1-70b-instruct-v1:0", "meta-llama/llama-3.1-70b-instruct"),
    ("bedrock", "us.meta.llama3-2-90b-instruct-v1:0", "meta-llama/llama-3.2-90b-vision-instruct"),
    ("bedrock", "amazon.nova-pro-v1:0", "amazon/nova-pro-v1"),
    ("bedrock", "us.amazon.nova-lite-v1:0", "amazon/nova-lite-v1"),
    ("bedrock", "cohere.command-r-plus-v1:0", "cohere/command-r-plus"),
    ("bedrock", "us.deepseek.r1-v1:0", "deepseek/deepseek-r1"),
    ("bedrock", "openai.gpt-oss-120b-1:0", "openai/gpt-oss-120b"),
    ("bedrock", "mistral.mistral-large-2402-v1:0", "mistralai/mistral-large"),
    # Google: Gemini API, Vertex AI (@ versions, resource paths)
    ("gemini", "gemini-2.5-pro", "google/gemini-2.5-pro"),
    ("gemini", "models/gemini-2.5-flash", "google/gemini-2.5-flash"),
    ("gemini", "gemini-2.5-flash-lite", "google/gemini-2.5-flash-lite"),
    ("gemini", "gemini-2.0-flash", "google/gemini-2.0-flash-001"),
    ("vertex", "gemini-2.0-flash-001", "google/gemini-2.0-flash-001"),
    ("vertex", "projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.0-flash-001",
     "google/gemini-2.0-flash-001"),
    ("vertex", "claude-3-5-sonnet-v2@20241022", "anthropic/claude-3.5-sonnet"),
    ("vertex", "claude-opus-4@20250514", "anthropic/claude-opus-4"),
    ("vertex", "claude-sonnet-4-5@20250929", "anthropic/claude-sonnet-4.5"),
    # Fireworks
    ("fireworks", "accounts/fireworks/models/llama-v3p1-70b-instruct", "meta-llama/llama-3.1-70b-instruct"),
    ("fireworks", "accounts/fireworks/models/llama-v3p3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"),
    ("fireworks", "accounts/fireworks/models/qwen2p5-72b-instruct", "qwen/qwen-2.5-72b-instruct"),
    ("fireworks", "accounts/fireworks/models/mixtral-8x22b-instruct", "mistralai/mixtral-8x22b-instruct"),
    ("fireworks", "accounts/fireworks/models/llama4-maverick-instruct-basic", "meta-llama/llama-4-maverick"),
    ("fireworks", "accounts/fireworks/models/deepseek-v3", "deepseek/deepseek-chat"),
    # Together
    ("together", "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", "meta-llama/llama-3.1-70b-instruct"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/llama-3.3-70b-instruct"),
    ("together", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "meta-llama/llama-4-maverick"),
    ("together", "Qwen/Qwen2.5-72B-Instruct-Turbo", "qwen/qwen-2.5-72b-instruct"),
    ("together", "Qwen/Qwen3-235B-A22B-fp8-tput", "qwen/qwen3-235b-a22b"),
    ("together", "deepseek-ai/DeepSeek-V3", "deepseek/deepseek-chat"),
    ("together", "mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/mixtral-8x7b-instruct"),
    # DeepInfra
    ("deepinfra", "meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/llama-3.1-8b-instruct"),
    ("deepinfra", "deepseek-ai/DeepSeek-R1", "deepseek/deepseek-r1"),
    ("deepinfra", "mistralai/Mistral-7B-Instruct-v0.3", "mistralai/mistral-7b-instruct"),
    ("deepinfra", "google/gemma-3-27b-it", "google/gemma-3-27b-it"),
    # Groq
    ("groq", "llama-3.3-70b-versatile", "meta-llama/llama-3.3-70b-instruct"),
    ("groq", "llama-3.1-8b-instant", "meta-llama/llama-3.1-8b-instruct"),
    ("groq", "llama3-70b-8192", "meta-llama/llama-3-70b-instruct"),
    ("groq", "llama-3.2-3b-preview", "meta-llama/llama-3.2-3b-instruct"),
    ("groq", "gemma2-9b-it", "google/gemma-2-9b-it"),
    ("groq", "mixtral-8x7b-32768", "mistralai/mixtral-8x7b-instruct"),
    ("groq", "deepseek-r1-distill-llama-70b", "deepseek/deepseek-r1-distill-llama-70b"),
    ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", "meta-llama/llama-4-scout"),
    ("groq", "moonshotai/kimi-k2-instruct", "moonshotai/kimi-k2"),
    ("groq", "qwen/qwen3-32b", "qwen/qwen3-32b"),
    ("groq", "openai/gpt-oss-120b", "openai/gpt-oss-120b"),
    # LiteLLM provider-prefixed names
    ("litellm", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", "anthropic/claude-3-haiku"),
    ("litellm", "vertex_ai/gemini-2.0-flash-001", "google/gemini-2.0-flash-001"),
    ("litellm", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/llama-3.3-70b-instruct"),
    ("litellm", "groq/llama-3.1-8b-instant", "meta-llama/llama-3.1-8b-instruct"),
    ("litellm", "fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct", "meta-llama/llama-3.1-70b-instruct"),
    ("litellm", "openrouter/anthropic/claude-3.5-sonnet", "anthropic/claude-3.5-sonnet"),
    ("litellm", "anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet"),
    ("litellm", "openai/gpt-4o-mini", "openai/gpt-4o-mini"),
    # OpenRouter slugs and permaslugs
    ("openrouter", "anthropic/claude-3.5-sonnet:beta", "anthropic/claude-3.5-sonnet"),
    ("openrouter", "anthropic/claude-opus-4.1", "anthropic/claude-opus-4.1"),
    ("openrouter", "anthropic/claude-4.5-sonnet-20250929", "anthropic/claude-sonnet-4.5"),
    ("openrouter", "openai/gpt-4.1-2025-04-14", "openai/gpt-4.1"),
    ("openrouter", "meta-llama/llama-3.1-70b-instruct", "meta-llama/llama-3.1-70b-instruct"),
    # Other vendors' APIs
    ("xai", "grok-4-0709", "x-ai/grok-4"),
    ("xai", "x-ai/grok-4", "x-ai/grok-4"),
    ("deepseek", "deepseek-chat", "deepseek/deepseek-chat"),
    ("deepseek", "deepseek-reasoner", "deepseek/deepseek-r1"),
    ("mistral", "mistral-large-latest", "mistralai/mistral-large"),
    ("moonshot", "kimi-k2-0905-preview", "moonshotai/kimi-k2-0905"),
    ("zhipu", "glm-4.5", "z-ai/glm-4.5"),
    ("cohere", "command-r-plus-08-2024", "cohere/command-r-plus-08-2024"),
]


def test_at_least_sixty_real_ids_from_many_sources() -> None:
    assert len({raw for _, raw, _ in REAL_IDS}) >= 60
    assert len({src for src, _, _ in REAL_IDS}) >= 12


@pytest.mark.parametrize(("source", "raw", "slug"), REAL_IDS, ids=[f"{s}:{r}" for s, r, _ in REAL_IDS])
def test_real_id_resolves_to_the_openrouter_slug(source: str, raw: str, slug: str) -> None:
    res = Resolver().resolve(raw)
    assert (res.model, res.recognised) == (slug, True), f"{source} id {raw!r} -> {res}"


def test_case_and_whitespace_do_not_matter() -> None:
    r = Resolver()
    assert r.resolve("  GPT-4.1-2025-04-14 ").model == "openai/gpt-4.1"
    assert r.resolve("Meta-Llama/Llama-3.3-70B-Instruct-Turbo").model == "meta-llama/llama-3.3-70b-instruct"


@pytest.mark.parametrize("raw", [
    "my-company-finetune-v7",
    "azure/prod-gpt4o-eastus",  # an Azure deployment name nobody has mapped
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
    "accounts/acme/models/custom-llm",
])
def test_unknown_ids_stay_as_given(raw: str) -> None:
    res = Resolver().resolve(raw)
    assert res == identity.Resolution(raw, False, "unknown")


def test_settings_csv_maps_azure_deployments_and_overrides_packaged_rows(tmp_path, monkeypatch) -> None:
    csv = tmp_path / "aliases.csv"
    csv.write_text(
        "alias,model,note\n"
        "prod-gpt4o-eastus,openai/gpt-4o,Azure deployment\n"
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6,"
        "anthropic/claude-sonnet-4,application inference profile\n"
        "gpt-4o-mini,openai/gpt-4o-mini-custom,site override of a packaged row\n"
    )
    monkeypatch.setenv("GATEWAYLENS_MODEL_ALIASES", str(csv))
    assert identity.resolve("azure/prod-gpt4o-eastus").model == "openai/gpt-4o"
    assert identity.resolve("prod-gpt4o-eastus").model == "openai/gpt-4o"
    assert identity.resolve(
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
    ).model == "anthropic/claude-sonnet-4"
    assert identity.resolve("gpt-4o-mini").model == "openai/gpt-4o-mini-custom"
    monkeypatch.delenv("GATEWAYLENS_MODEL_ALIASES")
    assert identity.resolve("azure/prod-gpt4o-eastus").recognised is False


def test_packaged_alias_targets_and_catalog_models_map_to_themselves() -> None:
    r = Resolver()
    for slug in {t for t in r.overrides.values()}:
        assert r.resolve(slug).model == slug


def test_register_model_map_joins_in_sql(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TEMP TABLE staged AS SELECT * FROM (VALUES ('gpt-4.1-2025-04-14'), ('gpt-4.1-2025-04-14'), "
                "('claude-sonnet-4-20250514'), ('mystery-model'), (NULL)) t(model)")
    n = identity.register_model_map(con, "SELECT DISTINCT model FROM staged")
    assert n == 3
    rows = con.sql("SELECT s.model, coalesce(m.model, s.model), m.recognised FROM staged s "
                   "LEFT JOIN _gl_model_map m ON m.model_raw = s.model ORDER BY ALL").fetchall()
    assert rows == [
        ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4", True),
        ("gpt-4.1-2025-04-14", "openai/gpt-4.1", True),
        ("gpt-4.1-2025-04-14", "openai/gpt-4.1", True),
        ("mystery-model", "mystery-model", False),
        (None, None, None),
    ]


def test_resolution_is_idempotent_on_the_slugs_it_produces() -> None:
    r = Resolver()
    for _, _, slug in REAL_IDS:
        again = r.resolve(slug)
        assert (again.model, again.recognised) == (slug, True), (slug, again)


def test_unrecognised_lists_unknown_served_and_requested_ids_with_counts(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "u.duckdb"))
    con.execute("CREATE TABLE requests (day DATE, model VARCHAR, model_requested VARCHAR)")
    con.execute("""INSERT INTO requests VALUES
        ('2025-01-01', 'openai/gpt-4.1', 'openai/gpt-4.1'),
        ('2025-01-01', 'my-finetune', NULL), ('2025-01-02', 'my-finetune', NULL),
        ('2025-01-02', 'anthropic/claude-sonnet-4', 'fast-tier'),
        ('2025-01-03', 'azure/prod-eastus', 'azure/prod-eastus')""")
    frame = identity.unrecognised(con.sql(identity.UNRECOGNISED_SQL).pl())
    assert frame.select("field", "model_id", "requests").rows() == [
        ("served", "my-finetune", 2),
        ("requested", "azure/prod-eastus", 1),
        ("requested", "fast-tier", 1),
        ("served", "azure/prod-eastus", 1),
    ]
