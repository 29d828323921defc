"""Issue #11: absent is not unknown (finish reason, ids, HTTP status), and the dimensions users
slice by (model_requested, cache_write_tokens, cancelled, session_id, team, tags, service_tier,
agent), carried from every source that has them and NULL otherwise. Payloads follow each project's
documented shapes (OpenRouter GET /api/v1/generation, LiteLLM StandardLoggingPayload, OpenAI /
Anthropic responses)."""

from __future__ import annotations

import datetime as dt


from gatewaylens.identity import resolve
from tests.test_formats_fixtures import (
    DROP, anthropic_message, chat_completion, envelope, ingest, litellm, openrouter, rows,
)

DIMS = ("model_requested", "cache_write_tokens", "cancelled", "session_id", "team", "tags", "service_tier", "agent")


def test_blank_ids_are_no_ids_in_every_format(con, tmp_path):
    records = [
        # LiteLLM writes end_user "" when there is none: no fake user; the key's user id is used
        litellm("c1", "t1", end_user=""),  # falls back to metadata.user_api_key_user_id 'key-user-1'
        litellm("c2", "t2", end_user="   ", metadata={"user_api_key_alias": "bot", "user_api_key_user_id": ""}),
        litellm("c3", "t3", end_user="", metadata={"user_api_key_alias": "bot", "user_api_key_user_id": "key-user-9"}),
        # an empty trace id is no trace: the call id is the request id (two such calls stay two)
        litellm("c4", "", end_user="real-user"),
        litellm("c5", "", end_user="real-user"),
        openrouter("gen-blank", external_user=""),
        envelope("env-blank", chat_completion(), user=" "),
        {"request_id": "can-blank", "ts": "2025-06-01T10:00:00Z", "model": "openai/gpt-5", "user": "",
         "session_id": "  ", "input_tokens": 1, "output_tokens": 1},
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined, res.merged) == (8, 0, 0)
    r = rows(con)
    assert r["t2"]["user_hash"] is None
    assert None not in (r["t1"]["user_hash"], r["t3"]["user_hash"]) and r["t1"]["user_hash"] != r["t3"]["user_hash"] and r["c4"]["user_hash"] == r["c5"]["user_hash"] is not None
    assert r["gen-blank"]["user_hash"] is None and r["env-blank"]["user_hash"] is None
    assert r["can-blank"]["user_hash"] is None and r["can-blank"]["session_id"] is None


def test_absent_finish_reason_is_null_and_no_status_is_invented(con, tmp_path):
    records = [
        # a cancelled OpenRouter stream: no finish reason at all, cancelled
        openrouter("gen-cancel", cancelled=True, finish_reason=None, native_finish_reason=None,
                   tokens_completion=12, native_tokens_completion=12, native_tokens_reasoning=0),
        openrouter("gen-other", finish_reason="mystery", native_finish_reason="mystery"),
        # LiteLLM success: the payload has no HTTP status
        litellm("c-ok", "t-ok"),
        # an envelope success without status
        envelope("env-ok", chat_completion(), status=DROP),
    ]
    res = ingest(con, tmp_path, records)
    assert res.rows_inserted == 4
    r = rows(con)
    c = r["gen-cancel"]
    assert (c["finish_reason"], c["native_finish_reason"], c["cancelled"], c["status"]) == (None, None, True, "success")
    assert r["gen-other"]["finish_reason"] == "other" and r["gen-other"]["cancelled"] is False
    assert r["t-ok"]["http_status"] is None and r["env-ok"]["http_status"] is None
    # the marts that count finish reasons: a NULL reason falls in none of their buckets
    counts = con.sql("SELECT count(*) FILTER (WHERE finish_reason = 'other'), count(*) FILTER (WHERE finish_reason IS NULL) "
                     "FROM requests").fetchall()[0]
    assert counts == (1, 1)


def test_litellm_dimensions(con, tmp_path):
    resp = litellm()["response"]
    resp["usage"]["cache_creation_input_tokens"] = 200
    resp["service_tier"] = "flex"
    records = [
        litellm("c1", "t1", model_group="fast-tier", request_tags=["prod", "checkout", ""],
                metadata={"user_api_key_alias": "support-bot", "user_api_key_team_alias": "payments",
                          "requester_metadata": {"session_id": "sess-1"}},
                response=resp),
        litellm("c2", "t2", model_group=None, request_tags=[], metadata={"user_api_key_alias": "bot"}),
    ]
    ingest(con, tmp_path, records)
    r = rows(con)
    a = r["t1"]
    assert (a["model_requested"], a["team"], a["tags"], a["service_tier"], a["cache_write_tokens"]) == (
        "fast-tier", "payments", ["prod", "checkout"], "flex", 200)
    assert len(a["session_id"]) == 64 and a["session_id"] != "sess-1"
    b = r["t2"]
    assert all(b[d] is None for d in DIMS), {d: b[d] for d in DIMS}


def test_openrouter_dimensions(con, tmp_path):
    fallback = [
        {"provider_name": "OpenAI", "status": 503, "latency": 100, "model_permaslug": "openai/gpt-5-2025-08-07"},
        {"provider_name": "Anthropic", "status": 200, "latency": 900,
         "model_permaslug": "anthropic/claude-4.5-sonnet-20250929"},
    ]
    records = [
        openrouter("gen-auto", router="openrouter/auto", service_tier="priority"),
        openrouter("gen-fb", provider_responses=fallback),
        openrouter("gen-plain"),
    ]
    ingest(con, tmp_path, records)
    r = rows(con)
    assert (r["gen-auto"]["model_requested"], r["gen-auto"]["service_tier"]) == ("openrouter/auto", "priority")
    # the first attempt's permaslug, through the identity step like every model id
    assert r["gen-fb"]["model_requested"] == resolve("openai/gpt-5-2025-08-07").model == "openai/gpt-5"
    assert r["gen-plain"]["model_requested"] is None and r["gen-plain"]["cancelled"] is False


def test_envelope_and_canonical_dimensions(con, tmp_path):
    msg = anthropic_message()  # cache_creation_input_tokens 200 in the documented usage block
    records = [
        envelope("env-a", msg, provider="anthropic", session_id="s-9", team="growth", tags=["beta"], agent="planner",
                 request={"model": "claude-sonnet-4-5", "messages": []}),
        envelope("env-b", dict(chat_completion(), service_tier="default")),
        {"request_id": "can-1", "ts": "2025-06-01T10:00:00Z", "model": "openai/gpt-5", "input_tokens": 100,
         "cached_tokens": 20, "cache_write_tokens": 30, "output_tokens": 5, "model_requested": "gpt-5-latest",
         "cancelled": False, "session_id": "s-9", "team": "growth", "tags": ["a", "b"], "service_tier": "flex",
         "agent": "planner"},
        {"request_id": "can-bad", "ts": "2025-06-01T10:00:00Z", "model": "openai/gpt-5", "tags": ["a", 3]},
    ]
    res = ingest(con, tmp_path, records)
    assert (res.rows_inserted, res.quarantined) == (3, 1)
    r = rows(con)
    a = r["env-a"]
    assert (a["model_requested"], a["cache_write_tokens"], a["team"], a["tags"], a["agent"]) == (
        resolve("claude-sonnet-4-5").model, 200, "growth", ["beta"], "planner")
    assert a["input_tokens"] == 50 + 1000 + 200  # Anthropic's input excludes the cache reads and writes
    assert r["env-b"]["service_tier"] == "default"
    c = r["can-1"]
    assert (c["model_requested"], c["cache_write_tokens"], c["cancelled"], c["team"], c["tags"], c["service_tier"],
            c["agent"]) == ("gpt-5-latest", 30, False, "growth", ["a", "b"], "flex", "planner")
    # the same session id gives the same hash in every format (sessions can be counted across sources)
    assert c["session_id"] == a["session_id"] is not None
    q = con.sql("SELECT reason FROM quarantine").fetchall()
    assert q == [("wrong type: tags must be a list of strings",)]


def test_generated_demo_traffic_carries_the_dimensions(con, tmp_path):
    from gatewaylens.generator import generate
    from gatewaylens.ingest import ingest_paths

    for fmt in ("litellm", "otel", "envelope", "canonical", "openrouter"):
        generate(days=1, requests_per_day=80, seed=5, out=tmp_path / fmt, fmt=fmt,
                 start=dt.date(2025, 6, 1))
        con.execute("DELETE FROM requests")
        ingest_paths(con, [tmp_path / fmt], salt="s")
        got = con.sql(
            "SELECT count(team), count(tags), count(service_tier), count(agent), count(model_requested), count(*) "
            "FROM requests").fetchall()[0]
        want_team = fmt in ("litellm", "envelope", "canonical")
        assert (got[0] > 0) == want_team, (fmt, got)
        assert (got[1] > 0) == (fmt in ("litellm", "envelope", "canonical")), (fmt, got)
        assert got[2] > 0, (fmt, got)  # OpenAI/Azure requests report a tier in every format
        assert (got[3] > 0) == (fmt in ("otel", "envelope", "canonical")), (fmt, got)
        # every request says what it asked for, but OpenRouter, which shows a requested model only when a
        # model fallback served another one
        assert (got[4] == got[5]) == (fmt != "openrouter") and got[4] <= got[5], (fmt, got)
