"""How people and apps use the gateway (generator-only realism; recorded in truth.json).

* **Users** — each app's callers have a heavy-tailed activity (a few power users send most
  requests: user k of the pool is drawn with probability ~ u**USER_SKEW) and the pool grows over
  the period (a new user appears when the adoption curve reaches them), so new and active users
  both move.
* **Sessions** — apps in :data:`SESSION_APPS` tag requests with a session id: a user's requests
  of a day, in time order, are cut into sessions of up to ``SESSION_APPS[app]`` requests (an
  agent loop is longer than a chat). The id is an opaque hash (never the raw user id). Other apps
  do not log sessions (NULL).
* **Cache writes** — on providers with explicit prompt caching, a share of the requests of
  caching apps write part of their prompt to the cache (``cache_write_tokens``); cached reads and
  writes never exceed the prompt.
* **Pinned providers** — :data:`PINNED` app/model pairs always go to one provider (no failover
  option for that traffic).
* **Model launches and switches** — a model listed in :data:`LAUNCHES` appears in the gateway at
  a point of the period; before that (and until each app's adoption lag has passed) its requests
  go to a fallback model (never one the app already uses in another role: a model keeps one role,
hence one tool-call propensity, per app). :data:`SWITCHES` move an app's traffic from one model to another over
  a window: the app's top model changes.

* **Model fallbacks** — apps in :data:`FALLBACKS` configure their gateway to retry a failed
  request on another model (LiteLLM ``fallbacks``, OpenRouter ``models``): of their requests whose
  first attempt failed and that a second attempt served on ``served``, a share ``p`` had asked for
  ``requested`` (the failed first attempt was that model's). Every request records the model it
  asked for (``model_requested``): the served model, or the fallback's requested one. Attempts,
  providers and every other draw are unchanged (own random stream), so only the requested model is new.

Fractions are positions in the generated period (0 = first day, 1 = last day), so a short test
run shows the same shape as a year.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

USER_SKEW = 4.0  # user index ~ pool * u**USER_SKEW: heavier tail than uniform
USER_POOL_START = 0.35  # share of an app's callers already active on day one (grows to 1)

# app -> most requests in one session (apps not listed log no session id)
SESSION_APPS: dict[str, int] = {
    "chat-web": 4, "support-agent": 8, "code-assistant": 12, "research-agent": 10, "sql-copilot": 6, "nightly-evals": 40,
}

# Providers that bill explicit cache writes (Anthropic-style prompt caching).
CACHE_WRITE_PROVIDERS = frozenset({"anthropic", "amazon-bedrock", "google-vertex"})
CACHE_WRITE_P = 0.18  # P(a request of a caching app writes to the cache) at those providers
CACHE_WRITE_SHARE = (0.2, 0.6)  # written share of the uncached prompt, uniform in this range


@dataclass(frozen=True)
class Launch:
    """``model`` appears at ``at``; apps adopt it after their lag (fraction of the period)."""

    model: str
    at: float
    fallback: str  # served instead before the app adopts the model
    app_lag: dict[str, float]  # app -> lag after launch; apps not listed adopt at once


@dataclass(frozen=True)
class Switch:
    """Within ``app``, requests to ``from_model`` move to ``to_model`` linearly between start and end."""

    app: str
    from_model: str
    to_model: str
    start: float
    end: float
    share: float  # share of from_model's traffic moved by the end


LAUNCHES: tuple[Launch, ...] = (
    Launch("anthropic/claude-opus-4.5", 0.30, "anthropic/claude-sonnet-4.5",
           {"code-assistant": 0.04, "research-agent": 0.25}),
    Launch("google/gemini-2.5-pro", 0.15, "anthropic/claude-sonnet-4.5", {"research-agent": 0.10}),
    Launch("deepseek/deepseek-r1", 0.45, "openai/gpt-5", {"research-agent": 0.20}),
)

SWITCHES: tuple[Switch, ...] = (
    Switch("support-agent", "anthropic/claude-sonnet-4.5", "openai/gpt-5", 0.55, 0.70, 0.8),
    Switch("chat-web", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash", 0.62, 0.72, 0.7),
    Switch("sql-copilot", "openai/gpt-5", "anthropic/claude-opus-4.5", 0.40, 0.50, 0.8),
)


# (app, model) -> the only provider the app routes that model to (its gateway config pins it):
# single-provider traffic with no failover except during that provider's outages.
PINNED: dict[tuple[str, str], str] = {
    ("docs-qa", "mistralai/mistral-small-3.2"): "mistral",
    ("code-assistant", "qwen/qwen3-coder"): "fireworks",
}


@dataclass(frozen=True)
class Fallback:
    """``app``'s gateway retries a failed ``requested`` call on ``served`` (a model fallback)."""

    app: str
    requested: str
    served: str
    p: float  # share of the app's failed-over requests served on `served` that had asked for `requested`


FALLBACKS: tuple[Fallback, ...] = (
    Fallback("chat-web", "anthropic/claude-sonnet-4.5", "openai/gpt-5-mini", 0.6),  # cross-vendor chain
    Fallback("support-agent", "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", 0.6),  # cheaper sibling
    Fallback("research-agent", "google/gemini-2.5-pro", "google/gemini-2.5-flash", 0.6),
    Fallback("code-assistant", "anthropic/claude-opus-4.5", "openai/gpt-5", 0.6),
)


def usage_dict() -> dict:
    """The usage parameters as JSON-ready data (recorded in truth.json under 'usage')."""
    return {
        "user_skew": USER_SKEW,
        "user_pool_start": USER_POOL_START,
        "session_apps": dict(SESSION_APPS),
        "cache_write_providers": sorted(CACHE_WRITE_PROVIDERS),
        "cache_write_p": CACHE_WRITE_P,
        "cache_write_share": list(CACHE_WRITE_SHARE),
        "launches": [asdict(x) for x in LAUNCHES],
        "switches": [asdict(x) for x in SWITCHES],
        "pinned": [{"app": a, "model": m, "provider": p} for (a, m), p in PINNED.items()],
        "fallbacks": [asdict(x) for x in FALLBACKS],
    }
