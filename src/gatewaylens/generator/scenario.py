"""The injected scenario: apps, models, providers, degradations, outages and trends.

Everything the simulation injects is declared here as plain data so that ``truth.json`` can
record it verbatim and tests can read it. Prices and reasoning-reporting behaviour come from
the packaged model catalog (``gatewaylens/data/model_catalog.csv``); the behaviour below
(speeds, output lengths, provider mix) is generator-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# ---------------------------------------------------------------------------------------------
# Trends (start value -> end value over the generated period, logistic S-curve)
# ---------------------------------------------------------------------------------------------

TOOL_CALL_RATE_START = 0.04
TOOL_CALL_RATE_END = 0.28
REASONING_SHARE_START = 0.05
REASONING_SHARE_END = 0.50
CURVE_STEEPNESS = 5.0  # logistic steepness; the curve is rescaled to hit start/end exactly

# ---------------------------------------------------------------------------------------------
# Traffic shape
# ---------------------------------------------------------------------------------------------

WEEKEND_FACTOR = 0.6  # interactive volume on Sat/Sun relative to weekdays
DIURNAL_PEAK_HOUR = 15.0  # UTC, centre of the interactive daily peak
DIURNAL_AMPLITUDE = 0.8  # hourly weight = 1 + A*cos(2*pi*(h + 0.5 - peak)/24)
BATCH_WINDOW = (1, 3)  # [start_hour, end_hour) UTC of the nightly batch burst

BASE_ERROR_RATE = 0.015  # ordinary error share at the final provider
FAILOVER_RATE = 0.01  # ordinary failover share (first attempt fails, second succeeds elsewhere)
TOOL_CALL_PROB_CAP = 0.97
LENGTH_RATE = 0.02  # of non-tool-call successes
CONTENT_FILTER_RATE = 0.003
REASONING_FRACTION_CAP = 0.9  # per request, reasoning / output

# http status -> (weight, error_type, median latency ms) for ordinary errors
ERROR_KINDS: dict[int, tuple[float, str, float]] = {
    429: (0.40, "rate_limit", 90.0),
    500: (0.25, "server_error", 450.0),
    503: (0.20, "overloaded", 70.0),
    504: (0.15, "timeout", 30000.0),
    400: (0.08, "invalid_request", 60.0),  # e.g. context length exceeded (usage realism, #14)
    502: (0.05, "bad_gateway", 120.0),
}
FAILOVER_FIRST_STATUS: dict[int, float] = {429: 0.45, 500: 0.2, 502: 0.15, 503: 0.2}

# Tool-call propensity by role (relative; scaled each day to hit the tool-call curve).
ROLE_TOOL_FACTOR: dict[str, float] = {
    "planner": 0.3,
    "executor": 1.0,
    "eval": 0.5,
    "chat": 0.0,
    "summarize": 0.0,
}
# role -> (median input tokens, median visible output tokens)
ROLE_TOKENS: dict[str, tuple[float, float]] = {
    "planner": (12000.0, 700.0),
    "executor": (5000.0, 140.0),
    "eval": (2500.0, 450.0),
    "chat": (1500.0, 380.0),
    "summarize": (9000.0, 320.0),
}
TIER_INPUT_MULT = {"frontier": 1.5, "small": 1.0, "specialty": 1.2, "other": 0.8}
TIER_OUTPUT_MULT = {"frontier": 1.3, "small": 0.9, "specialty": 1.1, "other": 0.9}

# Providers that report cached prompt tokens (others: cached_tokens NULL).
CACHE_REPORTING_PROVIDERS = frozenset(
    {"anthropic", "amazon-bedrock", "google-vertex", "google-ai-studio", "openai", "azure", "deepseek"}
)


@dataclass(frozen=True)
class ModelBehaviour:
    reasoning_propensity: float  # relative reasoning fraction (0 for non-reasoning models)
    ttft_ms: float  # median time to first token
    tokens_per_s: float  # generation speed
    providers: dict[str, float]  # provider -> share of the model's traffic (sums to 1)


MODELS: dict[str, ModelBehaviour] = {
    "anthropic/claude-opus-4.5": ModelBehaviour(1.0, 1400, 55, {"anthropic": 0.6, "amazon-bedrock": 0.25, "google-vertex": 0.15}),
    "anthropic/claude-sonnet-4.5": ModelBehaviour(0.8, 900, 70, {"anthropic": 0.55, "amazon-bedrock": 0.3, "google-vertex": 0.15}),
    "openai/gpt-5": ModelBehaviour(1.3, 1600, 60, {"openai": 0.7, "azure": 0.3}),
    "google/gemini-2.5-pro": ModelBehaviour(1.2, 1300, 80, {"google-vertex": 0.7, "google-ai-studio": 0.3}),
    "anthropic/claude-haiku-4.5": ModelBehaviour(0.5, 450, 140, {"anthropic": 0.7, "amazon-bedrock": 0.3}),
    "openai/gpt-5-mini": ModelBehaviour(1.0, 700, 120, {"openai": 0.65, "azure": 0.35}),
    "google/gemini-2.5-flash": ModelBehaviour(0.7, 400, 180, {"google-vertex": 0.6, "google-ai-studio": 0.4}),
    "meta-llama/llama-3.3-70b-instruct": ModelBehaviour(
        0.0, 350, 110, {"together": 0.35, "fireworks": 0.2, "deepinfra": 0.15, "novita": 0.3}
    ),
    "qwen/qwen3-235b-a22b": ModelBehaviour(0.0, 450, 90, {"together": 0.35, "fireworks": 0.35, "deepinfra": 0.3}),
    "mistralai/mistral-small-3.2": ModelBehaviour(0.0, 250, 160, {"mistral": 0.8, "deepinfra": 0.2}),
    "deepseek/deepseek-r1": ModelBehaviour(1.6, 1800, 40, {"deepseek": 0.5, "together": 0.25, "fireworks": 0.25}),
    "qwen/qwen3-coder": ModelBehaviour(0.0, 500, 100, {"together": 0.4, "fireworks": 0.35, "novita": 0.25}),
    "openai/gpt-4o-mini": ModelBehaviour(0.0, 400, 110, {"openai": 0.6, "azure": 0.4}),
}


@dataclass(frozen=True)
class Role:
    role: str  # key of ROLE_TOOL_FACTOR
    share: float  # share of the app's requests
    models: dict[str, float]  # model -> share within the role


@dataclass(frozen=True)
class App:
    name: str
    share: float  # share of all requests on a weekday (batch apps: of every day)
    batch: bool  # batch apps run only in BATCH_WINDOW, every day
    tools_offered_p: float | None  # P(tools offered); None = field absent (unknown)
    streamed_p: float
    cost_logged: bool  # False: this app's gateway does not log cost_usd (NULL)
    users: int  # size of the caller pool
    cache_ratio: float  # mean cached share of the prompt where the provider reports caching
    roles: tuple[Role, ...] = field(default_factory=tuple)


APPS: tuple[App, ...] = (
    App("chat-web", 0.22, False, 0.0, 0.95, True, 6000, 0.15, (
        Role("chat", 1.0, {"anthropic/claude-sonnet-4.5": 0.3, "openai/gpt-5-mini": 0.3, "google/gemini-2.5-flash": 0.2,
                           "openai/gpt-4o-mini": 0.1, "mistralai/mistral-small-3.2": 0.1}),
    )),
    App("support-agent", 0.20, False, 0.95, 0.6, True, 2500, 0.5, (
        Role("planner", 0.2, {"anthropic/claude-sonnet-4.5": 1.0}),
        Role("executor", 0.8, {"anthropic/claude-haiku-4.5": 0.5, "openai/gpt-5-mini": 0.3,
                               "meta-llama/llama-3.3-70b-instruct": 0.2}),
    )),
    App("code-assistant", 0.16, False, 0.95, 0.8, True, 1200, 0.6, (
        Role("planner", 0.25, {"anthropic/claude-opus-4.5": 0.6, "openai/gpt-5": 0.4}),
        Role("executor", 0.75, {"qwen/qwen3-coder": 0.4, "anthropic/claude-haiku-4.5": 0.3, "qwen/qwen3-235b-a22b": 0.3}),
    )),
    App("research-agent", 0.15, False, 0.95, 0.3, False, 800, 0.4, (
        Role("planner", 0.25, {"google/gemini-2.5-pro": 0.6, "deepseek/deepseek-r1": 0.4}),
        Role("executor", 0.75, {"google/gemini-2.5-flash": 0.5, "meta-llama/llama-3.3-70b-instruct": 0.3,
                                "qwen/qwen3-235b-a22b": 0.2}),
    )),
    App("sql-copilot", 0.08, False, 0.95, 0.5, True, 600, 0.5, (
        Role("planner", 0.3, {"openai/gpt-5": 1.0}),
        Role("executor", 0.7, {"openai/gpt-5-mini": 0.6, "qwen/qwen3-235b-a22b": 0.4}),
    )),
    App("docs-qa", 0.07, False, None, 0.9, True, 3000, 0.3, (
        Role("chat", 1.0, {"mistralai/mistral-small-3.2": 0.4, "meta-llama/llama-3.3-70b-instruct": 0.3,
                           "openai/gpt-4o-mini": 0.3}),
    )),
    App("nightly-evals", 0.05, True, 0.5, 0.0, True, 12, 0.2, (
        Role("eval", 1.0, {"openai/gpt-5": 1.0, "anthropic/claude-sonnet-4.5": 1.0, "deepseek/deepseek-r1": 1.0,
                           "meta-llama/llama-3.3-70b-instruct": 1.0, "qwen/qwen3-235b-a22b": 1.0,
                           "google/gemini-2.5-flash": 1.0}),
    )),
    App("batch-summarizer", 0.07, True, 0.0, 0.0, True, 4, 0.3, (
        Role("summarize", 1.0, {"google/gemini-2.5-flash": 0.5, "meta-llama/llama-3.3-70b-instruct": 0.3,
                                "mistralai/mistral-small-3.2": 0.2}),
    )),
)


@dataclass(frozen=True)
class DegradedPair:
    """A (model, provider) pair served quantized: fewer tool calls, more errors, slower."""

    model: str
    provider: str
    tool_call_multiplier: float  # P(tool call) = multiplier * the model's P at healthy providers
    error_rate_delta: float  # added to BASE_ERROR_RATE (absolute)
    latency_multiplier: float


DEGRADED_PAIRS: tuple[DegradedPair, ...] = (
    DegradedPair("meta-llama/llama-3.3-70b-instruct", "novita", 0.5, 0.06, 1.3),
    DegradedPair("qwen/qwen3-235b-a22b", "deepinfra", 0.55, 0.06, 1.25),
)


@dataclass(frozen=True)
class Outage:
    """``provider`` returns 503 for every attempt in the window; requests fail over."""

    provider: str
    day_fraction: float  # day index = floor(day_fraction * (days - 1))
    start_hour: int
    hours: int
    failover_to: str  # serves every model the provider serves


OUTAGES: tuple[Outage, ...] = (
    Outage("anthropic", 0.5, 13, 3, "amazon-bedrock"),
    Outage("together", 0.75, 19, 2, "fireworks"),
)


def scenario_dict() -> dict:
    """The scenario as JSON-ready data (recorded in truth.json)."""
    return {
        "apps": [
            {**{k: v for k, v in asdict(a).items() if k != "roles"},
             "roles": [asdict(r) for r in a.roles]}
            for a in APPS
        ],
        "models": {m: asdict(b) for m, b in MODELS.items()},
        "role_tool_factor": ROLE_TOOL_FACTOR,
        "cache_reporting_providers": sorted(CACHE_REPORTING_PROVIDERS),
        "base_error_rate": BASE_ERROR_RATE,
        "failover_rate": FAILOVER_RATE,
        "length_rate": LENGTH_RATE,
        "content_filter_rate": CONTENT_FILTER_RATE,
        "weekend_factor": WEEKEND_FACTOR,
        "diurnal": {"peak_hour_utc": DIURNAL_PEAK_HOUR, "amplitude": DIURNAL_AMPLITUDE},
        "error_kinds": {str(k): {"weight": w, "error_type": t} for k, (w, t, _) in ERROR_KINDS.items()},
    }


# ---------------------------------------------------------------------------------------------
# Regression events: serving changes with an onset day (what provider_regressions must find)
# ---------------------------------------------------------------------------------------------

EVENTS_MIN_DAYS = 56  # shorter periods get no events: a change needs weeks of history before it


@dataclass(frozen=True)
class RegressionEvent:
    """From day ``floor(day_fraction * (days - 1))`` on, requests of ``model`` served by
    ``providers`` (``()`` = every provider of the model: a model-wide change such as a new model
    version) change: P(tool call) x ``tool_call_multiplier``, error rate + ``error_rate_delta``,
    latency and TTFT x ``latency_multiplier``, output tokens x ``output_tokens_multiplier``.
    ``metrics`` names the provider_regressions metrics the change moves by design."""

    name: str
    model: str
    providers: tuple[str, ...]
    day_fraction: float
    metrics: tuple[str, ...]
    tool_call_multiplier: float = 1.0
    error_rate_delta: float = 0.0
    latency_multiplier: float = 1.0
    output_tokens_multiplier: float = 1.0


REGRESSION_EVENTS: tuple[RegressionEvent, ...] = (
    # a provider degrading mid-year on a two-provider model
    RegressionEvent("gpt-5-mini on azure degrades", "openai/gpt-5-mini", ("azure",), 0.5,
                    ("tool_call_rate", "error_rate", "p95_latency_ms", "median_ttft_ms"),
                    tool_call_multiplier=0.6, error_rate_delta=0.05, latency_multiplier=1.6),
    # two providers of one three-provider model degrading weeks apart
    # (0.3 of the period apart: the second onset's 35-day baseline + guard starts after the first;
    # errors and latency only: a tool-call change would be a metric the event moves, and listed)
    RegressionEvent("claude-sonnet-4.5 on amazon-bedrock degrades", "anthropic/claude-sonnet-4.5",
                    ("amazon-bedrock",), 0.35, ("error_rate", "p95_latency_ms", "median_ttft_ms"),
                    error_rate_delta=0.05, latency_multiplier=1.6),
    RegressionEvent("claude-sonnet-4.5 on google-vertex degrades", "anthropic/claude-sonnet-4.5",
                    ("google-vertex",), 0.65, ("error_rate", "p95_latency_ms", "median_ttft_ms"),
                    error_rate_delta=0.05, latency_multiplier=1.6),
    # a model-wide change on all providers (a new model version: longer answers). Cost per request
    # moves ~5% only (llama's prompts are long and priced like its output): not listed
    RegressionEvent("llama-3.3-70b answers grow on every provider", "meta-llama/llama-3.3-70b-instruct", (), 0.7,
                    ("output_tokens_per_request", "p95_latency_ms"),
                    output_tokens_multiplier=1.6),
)


@dataclass(frozen=True)
class TrafficSpike:
    """``app`` sends ``multiplier`` x its usual requests for ``days`` days from
    ``floor(day_fraction * (days_total - 1))`` (the extra requests replace no other app's)."""

    app: str
    day_fraction: float
    days: int
    multiplier: float


TRAFFIC_SPIKES: tuple[TrafficSpike, ...] = (TrafficSpike("docs-qa", 0.8, 3, 4.0),)
