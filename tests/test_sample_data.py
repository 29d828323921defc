"""The committed samples ingest cleanly and match what their truth.json says."""

from __future__ import annotations

import json

import pytest

from gatewaylens.ingest import ingest_paths
from tests.conftest import ROOT

SAMPLES = ROOT / "sample_data"
FORMAT_FOLDERS = ["openrouter", "litellm", "otel", "envelope", "mixed"]


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
    assert formats == expected


def test_all_samples_fit_in_5_mb():
    size = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert size <= 5 * 1024 * 1024, f"sample_data is {size / 1e6:.1f} MB"
