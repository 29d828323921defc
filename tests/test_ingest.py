"""Canonical ingest: good lines, every kind of bad line, duplicates, re-ingest, .gz, missing paths."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatewaylens.cli import app
from gatewaylens.ingest import MAX_LINE_BYTES, MissingPathError, ingest_paths
from gatewaylens.redact import redact_line
from tests.conftest import write_jsonl
from tests.fixtures.hostile_input import canonical_good

SALT = "test-salt"


def good(i: int, **over) -> dict:
    """A valid canonical record (the hostile-input fixture's, with tools offered)."""
    return canonical_good(i, **{"tools_offered": True, **over})


def invariant_holds(con) -> None:
    rows = con.execute(
        "SELECT path, lines, records, rows_inserted + duplicates + quarantined + merged FROM ingested_files"
    ).fetchall()
    assert rows, "no file was recorded"
    for path, lines, records, accounted in rows:
        assert records == accounted, f"{path}: {records} records but {accounted} accounted for"
        assert records >= lines, f"{path}: {records} records < {lines} lines"


def test_good_lines_become_rows(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), good(2, finish_reason="tool_calls", tool_call_count=2)])
    s = ingest_paths(con, [f], salt=SALT)
    assert (s.lines, s.rows_inserted, s.duplicates, s.quarantined) == (2, 2, 0, 0)
    row = con.sql(
        "SELECT request_id, day::VARCHAR, model, provider, status, finish_reason, tool_call_count, input_tokens, "
        "cached_tokens, output_tokens, reasoning_tokens, attempts, user_hash, source_format FROM requests ORDER BY request_id"
    ).fetchall()
    assert row[0][:12] == ("r1", "2026-01-15", "openai/gpt-5", "openai", "success", "stop", 0, 1000, 200, 300, 100, 1)
    assert row[1][5:7] == ("tool_calls", 2)
    import hashlib

    assert row[0][12] == hashlib.sha256((SALT + "user-001").encode()).hexdigest()
    assert row[0][13] == "canonical"
    # The raw caller id is stored nowhere.
    for table in ("requests", "provider_attempts", "quarantine"):
        dump = str(con.sql(f"SELECT * FROM {table}").fetchall())
        assert "user-001" not in dump
    assert con.sql("SELECT count(*) FROM provider_attempts").fetchall()[0][0] == 2
    invariant_holds(con)


def test_timestamps_become_utc(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(1, ts="2026-01-15T23:30:00-02:00"), good(2, ts="2026-01-15T10:00:00")])
    ingest_paths(con, [f], salt=SALT)
    got = con.sql("SELECT request_id, strftime(ts, '%Y-%m-%dT%H:%M'), day::VARCHAR FROM requests ORDER BY 1").fetchall()
    assert got == [("r1", "2026-01-16T01:30", "2026-01-16"), ("r2", "2026-01-15T10:00", "2026-01-15")]


def test_failover_attempts(con, tmp_path):
    rec = good(
        1,
        provider="together",
        attempts=[
            {"provider": "fireworks", "http_status": 503, "latency_ms": 120, "ts": "2026-01-15T08:30:00Z"},
            {"provider": "together", "http_status": 200, "latency_ms": 900},
        ],
    )
    ingest_paths(con, [write_jsonl(tmp_path / "a.jsonl", [rec])], salt=SALT)
    assert con.sql("SELECT attempts, provider FROM requests").fetchall() == [(2, "together")]
    att = con.sql("SELECT attempt_no, provider, http_status FROM provider_attempts ORDER BY attempt_no").fetchall()
    assert att == [(1, "fireworks", 503), (2, "together", 200)]


def test_reasoning_null_zero_and_unknown_finish_reason(con, tmp_path):
    f = write_jsonl(
        tmp_path / "a.jsonl",
        [good(1, reasoning_tokens=None), good(2, reasoning_tokens=0), good(3, finish_reason="end_turn_weird")],
    )
    ingest_paths(con, [f], salt=SALT)
    got = con.sql("SELECT request_id, reasoning_tokens, finish_reason, native_finish_reason FROM requests ORDER BY 1").fetchall()
    assert got[0][1] is None and got[1][1] == 0
    assert got[2][2:] == ("other", "end_turn_weird")


BAD_LINES = {
    "not json": ("{\"request_id\": \"x\", \"ts\": ", "invalid JSON"),
    "not an object": ("[1, 2, 3]", "not a JSON object"),
    "missing request_id": (json.dumps({k: v for k, v in good(9).items() if k != "request_id"}), "missing required field: request_id"),
    "missing ts": (json.dumps({k: v for k, v in good(9).items() if k != "ts"}), "missing required field: ts"),
    "missing model": (json.dumps({k: v for k, v in good(9).items() if k != "model"}), "missing required field: model"),
    "negative tokens": (json.dumps(good(9, output_tokens=-5, reasoning_tokens=None)), "negative value: output_tokens"),
    "reasoning > output": (json.dumps(good(9, reasoning_tokens=500)), "reasoning_tokens > output_tokens"),
    "cached > input": (json.dumps(good(9, cached_tokens=5000)), "cached_tokens > input_tokens"),
    "bad timestamp": (json.dumps(good(9, ts="yesterday at noon")), "unparseable timestamp: ts"),
    "wrong type": (json.dumps(good(9, input_tokens="many")), "wrong type: input_tokens must be an integer"),
    "wrong type bool": (json.dumps(good(9, streamed="yes")), "wrong type: streamed must be true or false"),
    "empty line": ("", "empty line"),
    "unrecognised": (json.dumps({"hello": "world"}), "unrecognised format"),
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_each_bad_line_is_quarantined_with_a_specific_reason(con, tmp_path, kind):
    line, reason = BAD_LINES[kind]
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), line, good(2)])
    s = ingest_paths(con, [f], salt=SALT)
    assert (s.lines, s.rows_inserted, s.quarantined) == (3, 2, 1)
    q = con.sql("SELECT line_no, reason, raw_line, detail FROM quarantine").fetchall()
    assert q[0][:2] == (2, reason)
    assert q[0][2] == redact_line(line)  # a structural redaction, never the line itself
    invariant_holds(con)


def test_pydantic_explains_rejections(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [json.dumps(good(9, input_tokens="many"))])
    ingest_paths(con, [f], salt=SALT)
    detail = con.sql("SELECT detail FROM quarantine").fetchall()[0][0]
    assert "input_tokens" in detail and "a string of 4 characters" in detail and "many" not in detail


def test_invalid_utf8_and_overlong_lines(con, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        json.dumps(good(1)).encode() + b"\n"
        + b'{"request_id": "r2", "app": "caf\xe9"}\n'
        + b'{"request_id": "r3", "pad": "' + b"x" * MAX_LINE_BYTES + b'"}\n'
        + json.dumps(good(4)).encode() + b"\n"
    )
    s = ingest_paths(con, [path], salt=SALT)
    assert (s.lines, s.rows_inserted, s.quarantined) == (4, 2, 2)
    q = dict(con.sql("SELECT line_no, reason FROM quarantine").fetchall())
    assert q == {2: "invalid UTF-8", 3: "line longer than 64 MiB"}
    assert con.sql("SELECT max(length(raw_line)) FROM quarantine").fetchall()[0][0] <= 8192
    invariant_holds(con)


def test_duplicates_within_and_across_files(con, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [good(1), good(2), good(1, model="other/model")])
    b = write_jsonl(tmp_path / "b.jsonl", [good(2), good(3)])
    s = ingest_paths(con, [a, b], salt=SALT)
    assert [(f.rows_inserted, f.duplicates) for f in s.files] == [(2, 1), (1, 1)]
    # First occurrence wins.
    assert con.sql("SELECT model FROM requests WHERE request_id = 'r1'").fetchall() == [("openai/gpt-5",)]
    assert con.sql("SELECT count(*), count(DISTINCT request_id) FROM requests").fetchall() == [(3, 3)]
    invariant_holds(con)


def test_reingest_identical_content_is_a_noop(con, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [good(1), "garbage", good(2)])
    ingest_paths(con, [a], salt=SALT)
    before = [con.sql(f"SELECT count(*) FROM {t}").fetchall() for t in ("requests", "quarantine", "ingested_files")]
    s = ingest_paths(con, [a], salt=SALT)
    assert s.skipped == 1 and s.rows_inserted == 0
    after = [con.sql(f"SELECT count(*) FROM {t}").fetchall() for t in ("requests", "quarantine", "ingested_files")]
    assert before == after


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "alone"])
def test_a_copy_of_ingested_content_under_another_name_is_skipped(con, tmp_path, batched):
    """A file is read once, as it is staged; its hash is known only then. A copy (same content,
    new path: gzipped or renamed) is found afterwards and dropped from its batch, with its
    quarantine rows: nothing is stored twice, and the original's quarantine row stays."""
    lines = [good(1), "garbage", good(2)]
    a = write_jsonl(tmp_path / "a.jsonl", lines)
    ingest_paths(con, [a], salt=SALT)
    copy = tmp_path / "copy.jsonl.gz"
    copy.write_bytes(gzip.compress(a.read_bytes()))
    other = [write_jsonl(tmp_path / "z.jsonl", [good(3)])] if batched else []
    s = ingest_paths(con, [copy, *other], salt=SALT, batch_bytes=1 << 20 if batched else 1)
    by_path = {f.path: f for f in s.files}
    assert by_path[str(copy)].skipped and by_path[str(copy)].rows_inserted == 0
    assert s.rows_inserted == (1 if batched else 0)
    assert con.sql("SELECT source_file, reason FROM quarantine").fetchall() == [(str(a), "invalid JSON")]
    assert con.sql("SELECT count(*) FROM ingested_files WHERE path = ?", params=[str(copy)]).fetchall() == [(0,)]
    invariant_holds(con)


def test_two_copies_in_one_batch_store_the_first(con, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [good(1), "garbage"])
    b = tmp_path / "b.jsonl"
    b.write_bytes(a.read_bytes())
    s = ingest_paths(con, [a, b], salt=SALT)
    assert [(f.skipped, f.rows_inserted, f.quarantined) for f in s.files] == [(False, 1, 1), (True, 0, 0)]
    assert con.sql("SELECT source_file FROM quarantine").fetchall() == [(str(a),)]
    invariant_holds(con)


def test_each_file_is_read_once(con, tmp_path, monkeypatch):
    """New files are streamed once (hashed as they are staged); the read_json fast path's file is
    hashed by one stream beside DuckDB's own read; an unchanged path ingested before is streamed
    once, for its hash, and skipped."""
    from gatewaylens.ingest import read

    opened: list[str] = []
    original = read._stream

    def counting(path, limits):
        opened.append(Path(path).name)
        yield from original(path, limits)

    monkeypatch.setattr(read, "_stream", counting)
    small = [write_jsonl(tmp_path / f"s{i}.jsonl", [good(10 * i + j) for j in range(3)] + ["garbage"]) for i in range(3)]
    gz = tmp_path / "g.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(json.dumps(good(100 + i)) + "\n" for i in range(50)).encode()))
    big = write_jsonl(tmp_path / "big.jsonl", [good(200 + i) for i in range(50)])
    s = ingest_paths(con, [*small, gz], salt=SALT)
    s2 = ingest_paths(con, [big], salt=SALT, batch_bytes=1)
    assert s2.files[0].fast_path
    assert sorted(opened) == sorted(["s0.jsonl", "s1.jsonl", "s2.jsonl", "g.jsonl.gz", "big.jsonl"])
    assert s.rows_inserted + s2.rows_inserted == 3 * 3 + 50 + 50
    opened.clear()
    again = ingest_paths(con, [*small, gz, big], salt=SALT)
    assert again.skipped == 5 and sorted(opened) == sorted(["s0.jsonl", "s1.jsonl", "s2.jsonl", "g.jsonl.gz", "big.jsonl"])
    invariant_holds(con)


def test_appended_file_adds_only_new_lines(con, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [good(1), "garbage"])
    ingest_paths(con, [a], salt=SALT)
    write_jsonl(a, [good(1), "garbage", good(2)])
    s = ingest_paths(con, [a], salt=SALT)
    assert (s.rows_inserted, s.duplicates, s.quarantined) == (1, 1, 1)
    assert con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0] == 1  # replaced, not doubled
    invariant_holds(con)


def test_gzip_and_folders(con, tmp_path):
    day = tmp_path / "landing" / "2026" / "01" / "15"
    write_jsonl(day / "a.jsonl", [good(1)])
    gz = day / "b.jsonl.gz"
    gz.write_bytes(gzip.compress((json.dumps(good(2)) + "\n").encode()))
    s = ingest_paths(con, [tmp_path / "landing"], salt=SALT)
    assert (len(s.files), s.rows_inserted) == (2, 2)


def test_truncated_gzip_is_quarantined_not_a_crash(con, tmp_path):
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress((json.dumps(good(1)) + "\n").encode() * 50)[:40])
    s = ingest_paths(con, [gz], salt=SALT)
    assert (s.lines, s.quarantined) == (1, 1)
    assert con.sql("SELECT reason FROM quarantine").fetchall() == [("unreadable file",)]
    invariant_holds(con)


def test_empty_file_is_recorded_with_zero_lines(con, tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_bytes(b"")
    s = ingest_paths(con, [f], salt=SALT)
    assert s.lines == 0
    assert con.sql("SELECT lines, rows_inserted FROM ingested_files").fetchall() == [(0, 0)]


def test_missing_path_is_a_clear_error_and_writes_nothing(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(1)])
    with pytest.raises(MissingPathError, match="nope.jsonl"):
        ingest_paths(con, [f, tmp_path / "nope.jsonl"], salt=SALT)
    assert con.sql("SELECT count(*) FROM requests").fetchall() == [(0,)]


def test_cli_missing_path_exit_code_2(tmp_path):
    db = tmp_path / "w.duckdb"
    res = CliRunner().invoke(app, ["ingest", str(tmp_path / "missing.jsonl"), "--db", str(db)])
    assert res.exit_code == 2
    assert "missing.jsonl" in res.output
    assert not db.exists()


def test_cli_ingest_prints_summary(tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), good(1), "bad"])
    res = CliRunner().invoke(app, ["ingest", str(f), "--db", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 0, res.output
    assert "lines/s" in res.output and "quarantined" in res.output
    assert "lines 3 |" in res.output and "records" not in res.output  # records shown only when they differ


def _otlp_batch(*traces: str) -> dict:
    """One OTLP/JSON export line holding one chat span per trace id (the collector batches traces)."""
    spans = [
        {"traceId": t, "spanId": "00f067aa0ba902b7", "parentSpanId": "", "name": "chat gpt-5", "kind": 3,
         "startTimeUnixNano": str(1768465800 * 10**9 + i), "endTimeUnixNano": str(1768465801 * 10**9 + i),
         "attributes": [{"key": k, "value": v} for k, v in [
             ("gen_ai.operation.name", {"stringValue": "chat"}), ("gen_ai.request.model", {"stringValue": "gpt-5"}),
             ("gen_ai.provider.name", {"stringValue": "openai"}), ("gen_ai.usage.input_tokens", {"intValue": "10"}),
             ("gen_ai.usage.output_tokens", {"intValue": "5"})]],
         "status": {}}
        for i, t in enumerate(traces)
    ]
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}


def test_records_invariant_with_lines_holding_several_requests(con, tmp_path):
    """records = rows_inserted + duplicates + quarantined + merged, with records > lines when an
    OTLP line batches several requests; canonical lines in the same file are one record each."""
    t = [f"{i:032x}" for i in range(1, 6)]
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), _otlp_batch(t[0], t[1], t[2]), "bad", _otlp_batch(t[3], t[1]), good(1)])
    s = ingest_paths(con, [f], salt=SALT)
    assert (s.lines, s.records, s.rows_inserted, s.duplicates, s.quarantined, s.merged) == (5, 8, 5, 2, 1, 0)
    assert con.sql("SELECT lines, records FROM ingested_files").fetchall() == [(5, 8)]
    assert con.sql("SELECT line_no, count(*) FROM requests GROUP BY 1 ORDER BY 1").fetchall() == [(1, 1), (2, 3), (4, 1)]
    invariant_holds(con)
    res = CliRunner().invoke(app, ["ingest", str(write_jsonl(tmp_path / "b.jsonl", [_otlp_batch(t[4], t[0])])),
                                   "--db", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 0, res.output
    assert "lines 1 (2 records) | rows 2 |" in res.output


def test_warehouse_created_before_records_existed_keeps_working(tmp_path):
    """An ingested_files table without `records` gets the column (records = lines for its rows)."""
    import duckdb

    from gatewaylens import db as dbmod

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute(
        "CREATE TABLE ingested_files (path VARCHAR NOT NULL, content_sha256 VARCHAR NOT NULL, bytes BIGINT NOT NULL, "
        "lines BIGINT NOT NULL, rows_inserted BIGINT NOT NULL, duplicates BIGINT NOT NULL, quarantined BIGINT NOT NULL, "
        "merged BIGINT NOT NULL, ingested_at TIMESTAMPTZ NOT NULL)"
    )
    old.execute("INSERT INTO ingested_files VALUES ('x.jsonl', 'abc', 10, 4, 3, 0, 1, 0, now())")
    old.close()
    con = dbmod.connect(path)
    try:
        assert con.sql("SELECT lines, records FROM ingested_files").fetchall() == [(4, 4)]
        ingest_paths(con, [write_jsonl(tmp_path / "a.jsonl", [good(1), _otlp_batch("1" * 32, "2" * 32)])], salt=SALT)
        assert con.sql("SELECT path, lines, records FROM ingested_files ORDER BY ingested_at").fetchall()[1:] == [
            (str(tmp_path / "a.jsonl"), 2, 3)]
        invariant_holds(con)
    finally:
        con.close()


def test_failed_file_rolls_back_whole_and_is_recorded(con, tmp_path, monkeypatch):
    """One transaction per file: an error mid-file leaves none of that file's rows behind; the
    file is recorded as one quarantined 'file failed' record and the run goes on."""
    from gatewaylens.ingest import load

    f = write_jsonl(tmp_path / "a.jsonl", [good(1), "bad"])

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(load, "insert_quarantine", boom)  # fails after requests were inserted
    monkeypatch.setattr(load, "record_file", boom)
    with pytest.raises(RuntimeError):  # recording the failure fails too: the error surfaces
        ingest_paths(con, [f], salt=SALT)
    assert [con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("requests", "provider_attempts", "ingested_files")] == [0, 0, 0]
    monkeypatch.undo()

    from gatewaylens.ingest import stage

    def fail_stage(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(stage, "stage_lines", fail_stage)
    s = ingest_paths(con, [f], salt=SALT)
    assert (s.files[0].failed, s.rows_inserted, s.quarantined) == ("file failed", 0, 1)
    assert con.sql("SELECT count(*) FROM requests").fetchall() == [(0,)]
    invariant_holds(con)


def test_forced_format_still_rejects_lines_that_are_not_objects(con, tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [good(1), "{truncated", "[1]", "", {"hello": 1}])
    s = ingest_paths(con, [f], salt=SALT, fmt="canonical")
    assert (s.lines, s.rows_inserted, s.quarantined) == (5, 1, 4)
    reasons = dict(con.sql("SELECT line_no, reason FROM quarantine").fetchall())
    assert reasons == {2: "invalid JSON", 3: "not a JSON object", 4: "empty line", 5: "missing required field: request_id"}
    invariant_holds(con)


def test_batched_small_files_keep_per_file_accounting(con, tmp_path):
    """Small files are staged together; every file still gets its own counts, line numbers and
    quarantine rows, and a request_id repeated across files counts as a duplicate of the later file."""
    from gatewaylens.ingest import ingest_files

    a = write_jsonl(tmp_path / "a.jsonl", [good(1), "bad a", good(2)])
    b = write_jsonl(tmp_path / "b.jsonl", [good(2), good(3), "", good(4)])
    c = tmp_path / "c.jsonl"
    c.write_bytes(b"")
    res = ingest_files(con, [a, b, c], salt=SALT)
    got = [(r.lines, r.rows_inserted, r.duplicates, r.quarantined) for r in res]
    assert got == [(3, 2, 0, 1), (4, 2, 1, 1), (0, 0, 0, 0)]
    assert con.sql("SELECT source_file, line_no FROM quarantine ORDER BY ALL").fetchall() == [(str(a), 2), (str(b), 3)]
    rows = con.sql("SELECT request_id, source_file, line_no FROM requests ORDER BY request_id").fetchall()
    assert rows == [("r1", str(a), 1), ("r2", str(a), 3), ("r3", str(b), 2), ("r4", str(b), 4)]
    invariant_holds(con)


def test_file_whose_every_line_is_rejected_on_bytes(con, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"request_id": "r1", "app": "caf\xe9"}\n')
    s = ingest_paths(con, [f], salt=SALT)
    assert (s.lines, s.rows_inserted, s.quarantined) == (1, 0, 1)
    assert con.sql("SELECT reason FROM quarantine").fetchall() == [("invalid UTF-8",)]
    invariant_holds(con)
