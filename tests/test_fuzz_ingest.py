"""Property-based fuzzing of ingest, per format (hypothesis): mutations of valid lines —
truncation, byte flips, type swaps, deep nesting, huge and non-finite numbers, odd unicode —
never raise, and every line is accounted for (records = rows + duplicates + quarantined + merged,
and every quarantine row has a reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatewaylens import db as dbmod
from gatewaylens.ingest import ingest_files

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("canonical", "openrouter", "litellm", "otel", "envelope")


def _sample_lines(fmt: str, n: int = 12) -> list[bytes]:
    files = sorted((ROOT / "sample_data" / fmt).rglob("*.jsonl"))
    out: list[bytes] = []
    for f in files:
        out.extend(line for line in f.read_bytes().splitlines() if line.strip())
        if len(out) >= n:
            break
    return out[:n]


SAMPLES = {fmt: _sample_lines(fmt) for fmt in FORMATS}
ODD = ["\u0000", "\u202e", "\ud7ff", "\U0001f600", "\u2028", "\ufeff", "e\u0301", "\x7f", "\\", "\""]
ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", str(2**63), str(2**63 - 1), str(2**64 + 1),
               str(2**53 + 1), str(2**31), "-0", "1.5", "1e3", "0.0000001"]


def _swap_values(obj, draw, depth: int = 0):
    """Replace some scalar values of a parsed JSON object by values of another type."""
    if isinstance(obj, dict):
        return {k: _swap_values(v, draw, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_swap_values(v, draw, depth + 1) for v in obj]
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.integers(-(2**70), 2**70),
                                   st.floats(allow_nan=False), st.lists(st.integers(), max_size=2)))
    return obj


@st.composite
def mutated_line(draw, fmt: str) -> bytes:
    base = draw(st.sampled_from(SAMPLES[fmt]))
    kind = draw(st.sampled_from(["truncate", "flip", "swap", "nest", "number", "unicode", "keep"]))
    if kind == "truncate":
        return base[: draw(st.integers(0, len(base)))]
    if kind == "flip":
        b = bytearray(base)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] = draw(st.integers(0, 255))
        return bytes(b).replace(b"\n", b" ")
    obj = json.loads(base)
    if kind == "swap":
        return json.dumps(_swap_values(obj, draw)).encode()
    text = json.dumps(obj)
    if kind == "nest":
        depth = draw(st.integers(50, 3000))
        return (text[:-1] + ', "junk": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "number":
        # put an odd number in place of the first number of the line
        import re

        m = re.search(r'(?<=: )-?\d+(\.\d+)?', text)
        if m:
            text = text[: m.start()] + draw(st.sampled_from(ODD_NUMBERS)) + text[m.end():]
        return text.encode()
    if kind == "unicode":
        i = draw(st.integers(0, len(text)))
        odd = draw(st.sampled_from(ODD))
        return (text[:i] + odd + text[i:]).encode("utf-8", errors="surrogatepass").replace(b"\n", b" ")
    return base


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutated_lines_never_raise_and_are_all_accounted_for(fmt, tmp_path_factory):
    assert SAMPLES[fmt], f"no sample lines for {fmt}"
    counter = iter(range(10**6))

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(mutated_line(fmt), min_size=1, max_size=6))
    @example([SAMPLES[fmt][0]])  # unmutated: a.jsonl is then a copy of b.jsonl, skipped in the batch
    def run(lines):
        work = tmp_path_factory.mktemp(f"fuzz-{fmt}-{next(counter)}")
        path = work / "a.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        con = dbmod.connect(work / "w.duckdb")
        try:
            # batched with a tiny file (per-line path) and alone (fast path when canonical)
            other = work / "b.jsonl"
            other.write_bytes(SAMPLES[fmt][0] + b"\n")
            for files in ([path], [other, path]):
                res = ingest_files(con, files, salt="fuzz", force=True)
                for r in res:
                    assert r.records == r.rows_inserted + r.duplicates + r.quarantined + r.merged, r
                    assert r.records >= r.lines
                r = {x.path: x for x in res}[str(path)]
                if r.skipped:  # only a byte-for-byte copy of a file of the same batch is skipped
                    assert files == [other, path] and path.read_bytes() == other.read_bytes(), r
                else:
                    assert r.lines == len(lines) or r.failed, r
            stored = con.sql("SELECT count(*) FILTER (WHERE reason IS NULL OR reason = '') FROM quarantine").fetchall()
            assert stored == [(0,)]
        finally:
            con.close()

    run()
