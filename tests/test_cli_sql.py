"""`gatewaylens sql` prints stored text literally and stays readable at any width.

A model named ``[/x]`` (rich markup that used to crash it), control characters, 15+ columns on
an 80-column terminal (elided like the DuckDB CLI, never wrapped into slivers), plain output
when piped, ``--format table|csv|json`` with nested values, limits and errors.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from gatewaylens import results
from gatewaylens.cli import app
from gatewaylens.cli.sql import Format, render

runner = CliRunner()
WIDE = ", ".join(f"{i} AS column_number_{i}" for i in range(15))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "names.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE m AS SELECT * FROM (VALUES ('[/x]', 1), ('[bold red]hi[/]', 2), ('tab\there\x1b[31m', 3)) v(model, n)"
    )
    con.execute(f"CREATE TABLE wide AS SELECT 'a long model name' AS model, [1, 2] AS l, {{'k': 'v'}} AS s, {WIDE}")
    con.close()
    return path


def _sql(db: Path, *args: str):
    return runner.invoke(app, ["sql", *args, "--db", str(db)])


def test_stored_text_is_printed_literally(db: Path) -> None:
    res = _sql(db, "SELECT model FROM m ORDER BY n")
    assert res.exit_code == 0, res.output
    assert "[/x]" in res.stdout and "[bold red]hi[/]" in res.stdout
    assert "\x1b" not in res.stdout and "tab\\there\\x1b[31m" in res.stdout  # control characters shown escaped


def test_errors_quoting_stored_text_do_not_crash(db: Path) -> None:
    res = _sql(db, "SELECT CAST(model AS INTEGER) FROM m WHERE n = 1")
    assert res.exit_code == 1 and "[/x]" in res.stderr


def test_wide_result_is_elided_to_the_terminal_width_not_wrapped() -> None:
    con = duckdb.connect()
    frame = con.sql(f"SELECT 'a long model name' AS model, {WIDE}").pl()
    con.close()
    text = render(frame, Format.table, width=80, tty=True)
    lines = text.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), lines
    assert "column_number_14" in lines[1] and "model" in lines[1] and "…" in lines[1]
    assert lines[-1].startswith("1 row") and "16 columns" in lines[-1] and "shown)" in lines[-1]
    assert len(lines) == 7  # top rule, names, types, rule, one row, bottom rule, footer: no wrapping
    assert "a long model name" in lines[4]


def test_piped_output_is_plain_and_complete(db: Path) -> None:
    res = _sql(db, "SELECT * FROM wide")  # CliRunner's stdout is not a terminal
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert not any(ch in res.stdout for ch in "┌│└─\x1b")
    assert all(f"column_number_{i}" in lines[0] for i in range(15))
    assert len(lines) == 5 and "[1,2]" in lines[3] and '{"k":"v"}' in lines[3]


def test_formats_csv_and_json_encode_nested_values(db: Path) -> None:
    res = _sql(db, "SELECT model, l, s FROM wide", "--format", "csv")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == ["model,l,s", 'a long model name,"[1,2]","{""k"":""v""}"']
    res = _sql(db, "SELECT model, l, s FROM wide", "--format", "json")
    assert res.stdout.splitlines() == ["[", '{"model": "a long model name", "l": [1, 2], "s": {"k": "v"}}', "]"]
    assert _sql(db, "SELECT model FROM m ORDER BY n", "--csv").stdout.splitlines()[1] == "[/x]"


def test_a_cell_wider_than_the_terminal_is_cut() -> None:
    frame = pl.DataFrame({"only": ["x" * 500]})
    lines = results.box_table(frame, width=40).splitlines()
    assert all(cell_len(line) <= 40 for line in lines) and lines[4].rstrip(" │").endswith("…")


def test_limit_and_timeout_options(db: Path) -> None:
    res = _sql(db, "SELECT * FROM range(50)", "--limit", "5", "--format", "csv")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 6 and "only the first 5" in res.stderr
    res = _sql(db, "SELECT count(*) FROM range(1000000000000) a, range(100) b", "--timeout", "1")
    assert res.exit_code == 1 and "longer than 1 s" in res.stderr
