"""The committed samples ingest cleanly and match what their truth.json says."""

from __future__ import annotations

import json

import pytest

from gatewaylens.ingest import ingest_paths
from tests.conftest import ROOT

SAMPLES = ROOT / "sample_data"
FORMAT_FOLDERS = ["openrouter", "litellm", "otel", "otel_batched", "envelope", "mixed"]


def test_canonical_sample_matches_its_truth(con):
    truth = json.loads((SAMPLES / "canonical" / "truth.json").read_text())
    s = ingest_paths(con, [SAMPLES / "canonical"], salt="s")
    assert any(str(f.path).endswith(".jsonl.gz") for f in s.files), "one day is gzipped"
    assert s.rows_inserted == truth["total_requests"]
    assert s.duplicates == truth["duplicate_lines"]
    assert s.quarantined == sum(truth["bad_lines"].values())
    assert s.records == s.rows_inserted + s.duplicates + s.quarantined + s.merged
    assert s.records >= s.lines


@pytest.mark.parametrize("folder", FORMAT_FOLDERS)
def test_format_sample_ingests_without_rejections(con, folder):
    truth = json.loads((SAMPLES / folder / "truth.json").read_text())
    s = ingest_paths(con, [SAMPLES / folder], salt="s")
    assert s.quarantined == 0 and s.duplicates == 0
    assert s.rows_inserted >= truth["total_requests"]  # otel also holds the hand-written flattened spans
    formats = {r[0] for r in con.sql("SELECT DISTINCT source_format FROM requests").fetchall()}
    expected = {"canonical", "openrouter", "litellm", "otel", "envelope"} if folder == "mixed" else {folder}
    assert formats == ({"otel"} if folder == "otel_batched" else expected)
    assert s.records == s.rows_inserted + s.merged
    assert (s.records > s.lines) == (folder == "otel_batched")


def test_batched_otel_sample_holds_the_otel_sample_requests(tmp_path):
    """otel_batched/ is otel/'s traffic (same seed) with 10 requests per OTLP line: the same rows."""
    from gatewaylens import db as dbmod

    cols = ("request_id, ts, app, user_hash, model, provider, status, http_status, error_type, finish_reason, "
            "native_finish_reason, tool_call_count, input_tokens, cached_tokens, output_tokens, reasoning_tokens, "
            "latency_ms, attempts")
    got = {}
    for folder in ("otel", "otel_batched"):
        con = dbmod.connect(tmp_path / f"{folder}.duckdb")
        ingest_paths(con, sorted((SAMPLES / folder).rglob("requests.jsonl")), salt="s")
        got[folder] = con.sql(f"SELECT {cols} FROM requests ORDER BY request_id").fetchall()
        con.close()
    assert len(got["otel"]) == json.loads((SAMPLES / "otel" / "truth.json").read_text())["total_requests"]
    assert got["otel_batched"] == got["otel"]


def test_all_samples_fit_in_5_mb():
    size = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert size <= 5 * 1024 * 1024, f"sample_data is {size / 1e6:.1f} MB"


# folder -> the #11 dimension columns its format carries (docs/formats.md, Dimensions)
CARRIES = {
    "canonical": {"team", "tags", "session_id", "agent", "service_tier", "cache_write_tokens", "model_requested"},
    "openrouter": {"service_tier", "model_requested"},  # model_requested only where a model fallback served another
    "litellm": {"team", "tags", "session_id", "service_tier", "cache_write_tokens", "model_requested"},
    "otel": {"session_id", "agent", "service_tier", "cache_write_tokens", "model_requested"},
    "envelope": {"team", "tags", "session_id", "agent", "service_tier", "cache_write_tokens", "model_requested"},
}
CARRIES["otel_batched"] = CARRIES["otel"]
CARRIES["mixed"] = set().union(*CARRIES.values())
DIMENSIONS = ("team", "tags", "session_id", "agent", "service_tier", "cache_write_tokens", "model_requested")


@pytest.mark.parametrize("folder", ["canonical", *FORMAT_FOLDERS])
def test_samples_carry_the_new_dimensions_and_a_model_fallback(con, folder):
    """The samples are the generator's current output: every dimension the format has a field for
    is filled somewhere, and the model fallbacks truth.json lists are there (requested != served)."""
    truth = json.loads((SAMPLES / folder / "truth.json").read_text())
    ingest_paths(con, sorted((SAMPLES / folder).rglob("requests.jsonl*")), salt="s")
    counts = dict(zip(DIMENSIONS, con.sql(
        f"SELECT {', '.join(f'count({c})' for c in DIMENSIONS)} FROM requests").fetchall()[0]))
    assert {c for c, n in counts.items() if n > 0} == CARRIES[folder], counts
    subs = con.sql("SELECT model_requested, model, count(*) FROM requests WHERE model_requested <> model "
                   "GROUP BY ALL ORDER BY ALL").fetchall()
    want = {}
    for r in truth["model_substitutions"]["by_day"]:
        want[(r["model_requested"], r["model"])] = want.get((r["model_requested"], r["model"]), 0) + r["requests"]
    assert subs == sorted((r, m, n) for (r, m), n in want.items()) and subs, folder
