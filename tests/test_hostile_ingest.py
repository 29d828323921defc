"""Hostile input (issue #10): every line ends as a row, a duplicate or a quarantined record with
an exact reason; no line, file or limit stops a run; nothing secret is kept anywhere."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gatewaylens import db as dbmod
from gatewaylens.ingest import Limits, find_input_files, ingest_files, ingest_paths
from tests.conftest import write_jsonl
from tests.fixtures.hostile_input import SECRETS, canonical_good, line, nested, secrets_found

SALT = "hostile-salt"
good = canonical_good


def invariant_holds(con) -> None:
    rows = con.execute(
        "SELECT path, lines, records, rows_inserted + duplicates + quarantined + merged, quarantined FROM ingested_files"
    ).fetchall()
    assert rows
    stored = dict(con.execute("SELECT source_file, sum(records) FROM quarantine GROUP BY ALL").fetchall())
    for path, lines, records, accounted, quarantined in rows:
        assert records == accounted and records >= lines, path
        assert stored.get(path, 0) == quarantined, f"{path}: quarantine rows stand for {stored.get(path, 0)} records"


def reasons(con) -> dict[int, str]:
    return dict(con.sql("SELECT line_no, reason FROM quarantine ORDER BY line_no").fetchall())


def ingest_lines(con, tmp_path, lines, name="a.jsonl", **kw):
    f = write_jsonl(tmp_path / name, lines)
    summary = ingest_paths(con, [f], salt=SALT, **kw)
    invariant_holds(con)
    return summary


# --- one line never stops a run ------------------------------------------------------------


def test_deeply_nested_junk_in_a_rejected_line_is_quarantined(con, tmp_path):
    """The RecursionError of issue #10: a rejected canonical line with a field nested 500 deep."""
    bad = line({k: v for k, v in good(2).items() if k != "model"}, junk=nested(500))
    s = ingest_lines(con, tmp_path, [good(1), bad, good(3)])
    assert (s.rows_inserted, s.quarantined) == (2, 1)
    reason, raw = con.sql("SELECT reason, raw_line FROM quarantine").fetchall()[0]
    assert reason == "missing required field: model"
    assert len(raw) <= 8192


def test_an_exception_while_redacting_makes_an_unexplainable_line(con, tmp_path, monkeypatch):
    from gatewaylens.ingest import quarantine

    def boom(raw):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(quarantine, "redact_line", boom)
    s = ingest_lines(con, tmp_path, [good(1), "{not json", good(3)])
    assert (s.rows_inserted, s.quarantined) == (2, 1)
    assert reasons(con) == {2: "unexplainable line"}


def test_a_failing_file_never_takes_batched_files_down(con, tmp_path, monkeypatch):
    """Small files share a transaction; when one fails, the batch is retried file by file and
    only the failing file is recorded as failed."""
    from gatewaylens.ingest import stage

    a = write_jsonl(tmp_path / "a.jsonl", [good(1), good(2)])
    b = write_jsonl(tmp_path / "b.jsonl", [good(3), {"poison": True}])
    c = write_jsonl(tmp_path / "c.jsonl", [good(4)])
    real = stage.stage_lines

    def flaky(con_, fmt, into):
        n = con_.sql("SELECT count(*) FROM _gl_lines WHERE contains(line, 'poison')").fetchall()[0][0]
        if n:
            raise RuntimeError("simulated failure on one file")
        return real(con_, fmt, into)

    monkeypatch.setattr(stage, "stage_lines", flaky)
    res = ingest_files(con, [a, b, c], salt=SALT)
    assert [(r.rows_inserted, r.quarantined, r.failed) for r in res] == [(2, 0, None), (0, 1, "file failed"), (1, 0, None)]
    assert con.sql("SELECT request_id FROM requests ORDER BY 1").fetchall() == [("r1",), ("r2",), ("r4",)]
    assert con.sql("SELECT source_file, line_no, reason FROM quarantine").fetchall() == [(str(b), 0, "file failed")]
    invariant_holds(con)


# --- value domains ---------------------------------------------------------------------------

DOMAIN_CASES = {
    "NaN cost": (line(good(9, cost_usd=None), cost_usd="NaN"), "non-finite value: cost_usd"),
    "Infinity latency": (line(good(9, latency_ms=None), latency_ms="Infinity"), "non-finite value: latency_ms"),
    "1e400 ttft": (line(good(9, ttft_ms=None), ttft_ms="1e400"), "non-finite value: ttft_ms"),
    "2^63 input": (line(good(9, input_tokens=None, cached_tokens=None), input_tokens=str(2**63)), "out of range: input_tokens"),
    "2^31 tool calls": (line(good(9), tool_call_count=str(2**31)), "out of range: tool_call_count"),
    "1e30 output": (line(good(9, output_tokens=None, reasoning_tokens=None), output_tokens="1e30"), "out of range: output_tokens"),
    "NaN tokens": (line(good(9, output_tokens=None, reasoning_tokens=None), output_tokens="NaN"), "non-finite value: output_tokens"),
    "year 1": (json.dumps(good(9, ts="0001-01-01T00:00:00Z")), "timestamp out of range"),
    "year -1": (json.dumps(good(9, ts="-0001-01-01T00:00:00Z")), "timestamp out of range"),
    "year 9999": (json.dumps(good(9, ts="9999-12-31T00:00:00Z")), "timestamp out of range"),
    "year 275760": (json.dumps(good(9, ts="275760-09-13T00:00:00Z")), "timestamp out of range"),
    "before 1970": (json.dumps(good(9, ts="1969-12-31T23:59:59Z")), "timestamp out of range"),
    "attempt in 9999": (json.dumps(good(9, attempts=[{"provider": "openai", "ts": "9999-01-01T00:00:00Z"}])),
                        "timestamp out of range"),
    "long request_id": (json.dumps(good(9, request_id="x" * 257)), "too long: request_id"),
    "long model": (json.dumps(good(9, model="m" * 257)), "too long: model"),
    "control char model": (json.dumps(good(9, model="openai/gpt\u0007")), "control character: model"),
    "newline in app": (json.dumps(good(9, app="a\nb")), "control character: app"),
    "no token usage": (json.dumps(good(9, input_tokens=None, output_tokens=None, cached_tokens=None,
                                       reasoning_tokens=None)), "missing token usage"),
    "duplicate key": ('{"request_id": "r9", "request_id": "r10", "ts": "2026-01-15T08:30:00Z", "model": "m", '
                      '"input_tokens": 1, "output_tokens": 1}', "duplicate key: request_id"),
    # the same key spelled with an escape is the same key
    "escaped duplicate key": ('{"request_id": "r9", "request\\u005fid": "r10", "ts": "2026-01-15T08:30:00Z", '
                              '"model": "m", "input_tokens": 1, "output_tokens": 1}', "duplicate key: request_id"),
}


@pytest.mark.parametrize("path", ["alone", "batched"])
@pytest.mark.parametrize("kind", list(DOMAIN_CASES))
def test_values_outside_their_domain_are_quarantined(con, tmp_path, kind, path):
    """Alone, a canonical file takes the read_json fast path; batched with another file, the
    per-line path. Both give the same outcome."""
    text, reason = DOMAIN_CASES[kind]
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), text, good(2)])
    others = [write_jsonl(tmp_path / "0.jsonl", [good(100)])] if path == "batched" else []
    res = {r.path: r for r in ingest_files(con, [*others, f], salt=SALT)}[str(f)]
    invariant_holds(con)
    assert (res.lines, res.rows_inserted, res.quarantined) == (3, 2, 1), reasons(con)
    assert reasons(con) == {2: reason}
    assert res.fast_path == (path == "alone")


def test_values_at_the_edge_of_their_domain_are_stored_exactly(con, tmp_path):
    big = 2**63 - 1
    lines = [
        line(good(1, input_tokens=None, cached_tokens=None), input_tokens=str(big)),
        line(good(2, input_tokens=None, cached_tokens=None), input_tokens=str(2**53 + 1)),
        line(good(3), tool_call_count=str(2**31 - 1)),
        line(good(4, output_tokens=None, reasoning_tokens=None), output_tokens="1e3"),
        json.dumps(good(5, status="error", http_status=500, input_tokens=None, output_tokens=None,
                        cached_tokens=None, reasoning_tokens=None)),
    ]
    s = ingest_lines(con, tmp_path, lines)
    assert s.rows_inserted == 5, reasons(con)
    got = dict(con.sql("SELECT request_id, [input_tokens, output_tokens, tool_call_count] FROM requests").fetchall())
    assert got["r1"][0] == big
    assert got["r2"][0] == 2**53 + 1
    assert got["r3"][2] == 2**31 - 1
    assert got["r4"][1] == 1000
    assert got["r5"][:2] == [0, 0]  # an error without usage is a row (tokens 0)


def test_a_leading_bom_is_stripped_alone_and_batched(con, tmp_path):
    bom = "\ufeff"
    a = tmp_path / "a.jsonl"
    a.write_text(bom + json.dumps(good(1)) + "\n" + json.dumps(good(2)) + "\n")
    b = tmp_path / "b.jsonl"
    b.write_text(bom + json.dumps(good(3)) + "\n")
    c = tmp_path / "c.jsonl"
    c.write_text(bom + json.dumps(good(4)) + "\n")
    ingest_files(con, [a], salt=SALT)
    ingest_files(con, [b, c], salt=SALT)  # batched together
    assert con.sql("SELECT request_id, line_no FROM requests ORDER BY 1").fetchall() == [
        ("r1", 1), ("r2", 2), ("r3", 1), ("r4", 1)]
    assert con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0] == 0


# --- bounded storage, limits, special files ----------------------------------------------------


def test_a_flood_of_bad_lines_costs_bounded_storage(con, tmp_path):
    lines = [good(1)] + ["{bad"] * 30 + [""] * 20 + [good(2)]
    s = ingest_lines(con, tmp_path, lines, max_quarantine_rows=10)
    assert (s.lines, s.rows_inserted, s.quarantined) == (52, 2, 50)
    rows = con.sql("SELECT line_no, reason, records FROM quarantine ORDER BY line_no").fetchall()
    assert len(rows) == 11
    assert rows[:10] == [(n, "invalid JSON", 1) for n in range(2, 12)]
    assert rows[10] == (12, "too many rejected records", 40)


def test_a_gzip_bomb_is_over_limit(con, tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb") as fh:
        for _ in range(64):
            fh.write(b"\n" * (1 << 20))  # 64 MiB of newlines, ~64 KiB compressed
    ok = write_jsonl(tmp_path / "ok.jsonl", [good(1)])
    s = ingest_paths(con, [bomb, ok], salt=SALT, limits=Limits(max_gzip_ratio=100))
    assert [(f.failed, f.rows_inserted) for f in s.files] == [("over limit", 0), (None, 1)]
    assert con.sql("SELECT line_no, reason FROM quarantine").fetchall() == [(0, "over limit")]
    invariant_holds(con)


def test_a_file_over_the_size_limit_is_over_limit(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(i) for i in range(100)])
    s = ingest_paths(con, [f], salt=SALT, limits=Limits(max_file_bytes=1000))
    assert s.files[0].failed == "over limit" and s.rows_inserted == 0
    invariant_holds(con)


def test_symlinks_leaving_the_folder_are_not_followed(con, tmp_path):
    outside = write_jsonl(tmp_path / "outside" / "secret.jsonl", [good(99)])
    landing = tmp_path / "landing"
    write_jsonl(landing / "a.jsonl", [good(1)])
    (landing / "evil.jsonl").symlink_to(outside)
    (landing / "passwd.log").symlink_to("/etc/passwd")
    (landing / "inside.jsonl").symlink_to(landing / "a.jsonl")
    assert find_input_files([landing]) == [landing / "a.jsonl", landing / "inside.jsonl"]


def test_a_fifo_named_explicitly_is_refused_not_hung(con, tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    ok = write_jsonl(tmp_path / "ok.jsonl", [good(1)])
    s = ingest_paths(con, [fifo, ok], salt=SALT)
    got = {f.path: (f.failed, f.rows_inserted) for f in s.files}
    assert got == {str(fifo): ("not a regular file", 0), str(ok): (None, 1)}
    assert con.sql("SELECT reason FROM quarantine").fetchall() == [("not a regular file",)]
    invariant_holds(con)


def test_a_second_writer_waits_then_exits_with_one_sentence(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = dbmod.connect(db)
    f = write_jsonl(tmp_path / "a.jsonl", [good(1)])
    try:
        env = {**os.environ, "GATEWAYLENS_DB": str(db), "GATEWAYLENS_LOCK_WAIT_S": "1", "GATEWAYLENS_SALT": "x"}
        proc = subprocess.run([sys.executable, "-m", "gatewaylens.cli", "ingest", str(f)], env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "locked" in (proc.stderr + proc.stdout)


# --- nothing secret is kept ------------------------------------------------------------------


def _secret_lines() -> list[str]:
    S = SECRETS
    base = {k: v for k, v in good(50).items() if k != "model"}  # rejected: missing model
    return [
        json.dumps({**base, "request_id": "s1", "messages": [{"role": "user", "content": S["prompt"]}]}),
        '{"request_id": "s2", "ts": "2026-01-15T08:30:00Z", "\\u0063ontent": "' + S["prompt"] + '"}',
        json.dumps({**base, "request_id": "s3", "reasoning": S["reasoning"], "user": S["user"]}),
        json.dumps({**base, "request_id": "s4", "tool_calls": [{"arguments_json": S["arguments"]}]}),
        json.dumps({**base, "request_id": "s5", "error": {"message": S["error_body"]}, "email": S["email"]}),
        json.dumps({**base, "request_id": "s6", "api_key": S["api_key"], "headers": {"Authorization": S["api_key"]}}),
        json.dumps({**base, "request_id": "s7", "completion": S["completion"]})[:-40],  # truncated mid-string
        'user=' + S["email"] + ' key=' + S["api_key"],  # not JSON at all
        json.dumps(good(60, user=S["user"], input_tokens="many")),  # wrong type, user id in the line
        json.dumps(good(61, user=S["email"], ts="yesterday " + S["api_key"])),  # a secret in a rejected value
        '{"request_id": "s8", "ts": "2026-01-15T08:30:00Z", "model": "m", "input_tokens": 1, "output_tokens": 1, '
        '"user": "' + S["user"] + '", "user": "' + S["email"] + '"}',  # duplicate key
        json.dumps(good(62, user=S["user"], prompt=S["prompt"])),  # a good line: user hashed, prompt dropped
    ]


def test_no_secret_is_kept_anywhere(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", _secret_lines())
    s = ingest_paths(con, [f, write_jsonl(tmp_path / "b.jsonl", [good(1)])], salt=SALT)  # batched: per-line path
    invariant_holds(con)
    assert s.rows_inserted == 2 and s.quarantined == 11, reasons(con)
    con.close()
    con = dbmod.connect_readonly(tmp_path / "warehouse.duckdb")  # what is stored, not the session's temp tables
    assert secrets_found(con) == {}
    details = [d for (d,) in con.sql("SELECT detail FROM quarantine WHERE detail IS NOT NULL").fetchall()]
    assert any("input_tokens" in d for d in details)  # the explanation names the field, not its value
    assert not any("many" in d or "yesterday" in d for d in details)


def test_salt_is_generated_once_private_and_stable(tmp_path, monkeypatch):
    from gatewaylens.config import settings
    from gatewaylens.salt import resolve_salt

    monkeypatch.delenv("GATEWAYLENS_SALT", raising=False)
    monkeypatch.setenv("GATEWAYLENS_DB", str(tmp_path / "data" / "w.duckdb"))
    first = resolve_salt(settings())
    second = resolve_salt(settings())
    assert first.created and first.notice() and not second.created and second.notice() is None
    assert first.value == second.value and len(first.value) == 64
    path = Path(first.source)
    assert path.parent == tmp_path / "data" and stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("GATEWAYLENS_SALT", "mine")
    assert resolve_salt(settings()).value == "mine"


def test_cli_says_once_that_it_generated_a_salt_and_hashes_stay_stable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GATEWAYLENS_SALT"}
    env["GATEWAYLENS_DB"] = str(tmp_path / "data" / "w.duckdb")
    outs, hashes = [], []
    for i in (1, 2):
        f = write_jsonl(tmp_path / f"{i}.jsonl", [good(i, user="same-user")])
        proc = subprocess.run([sys.executable, "-m", "gatewaylens.cli", "ingest", str(f)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout + proc.stderr)
    con = dbmod.connect_readonly(tmp_path / "data" / "w.duckdb")
    hashes = {h for (h,) in con.sql("SELECT user_hash FROM requests").fetchall()}
    con.close()
    assert "generated a random salt" in outs[0] and "generated a random salt" not in outs[1]
    assert len(hashes) == 1
