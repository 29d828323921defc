"""Query results as text: CSV, JSON and a terminal table — every value printed literally.

Used by ``gatewaylens sql`` and by the dashboard's downloads (one CSV writer for both).

* :func:`csv_text` — polars CSV, with nested values (LIST, ARRAY, STRUCT, MAP) JSON-encoded into
  one cell and BLOBs as ``\\x..`` escapes, so any result can be exported.
* :func:`json_text` — an array of row objects.
* :func:`box_table` — the DuckDB CLI's "duckbox" look: a header with names and types, cells cut
  to ``max_cell`` characters with ``…``, and when the table is wider than ``width`` the columns
  that do not fit are elided from the middle (first and last columns kept, a ``…`` column in
  between, a footer saying how many are shown). ``plain=True`` draws no box characters (for
  pipes). Control characters in stored text are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
from rich.cells import cell_len

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
ELLIPSIS = "…"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def json_value(value: Any) -> str | None:
    """One nested value as compact JSON (dates, decimals and the like as their text)."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns JSON-encoded, BLOBs escaped: a frame every text writer accepts."""
    out = []
    for name, dtype in frame.schema.items():
        col = frame.get_column(name)
        if dtype.is_nested():
            col = pl.Series(name, [json_value(v) for v in col.to_list()], dtype=pl.String)
        elif dtype == pl.Binary:
            col = pl.Series(name, [None if v is None else repr(v)[2:-1] for v in col.to_list()], dtype=pl.String)
        elif dtype == pl.Object:
            col = pl.Series(name, [None if v is None else str(v) for v in col.to_list()], dtype=pl.String)
        out.append(col)
    return pl.DataFrame(out) if out else frame


def csv_text(frame: pl.DataFrame) -> str:
    """CSV (header + rows) of any result; nested values are JSON text in one cell."""
    return _flat(frame).write_csv()


def json_text(frame: pl.DataFrame) -> str:
    """The rows as a JSON array of objects, one row per line (nested values stay nested)."""
    rows = [
        json.dumps(dict(zip(frame.columns, row)), default=_json_default, ensure_ascii=False)
        for row in frame.iter_rows()
    ]
    return "[\n" + ",\n".join(rows) + ("\n" if rows else "") + "]\n"


def literal(text: str) -> str:
    """Text made safe for a terminal: control and bidi characters shown as escapes."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def cell_text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict | tuple):
        return literal(json_value(value) or "")
    if isinstance(value, bytes):
        return repr(value)[2:-1]
    return literal(str(value))


def _cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal cells, ending in … when cut."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - cell_len(text))
    return gap + text if right else text + gap


def _type_name(dtype: pl.DataType) -> str:
    return str(dtype).lower()


def box_table(frame: pl.DataFrame, *, width: int | None = None, max_cell: int = 40, plain: bool = False) -> str:
    """A text table of ``frame`` fitting ``width`` terminal cells (None: no limit), as described above."""
    names = [literal(c) for c in frame.columns]
    types = [_type_name(t) for t in frame.dtypes]
    right = [t.is_numeric() for t in frame.dtypes]
    limit = max_cell if width is not None else None
    cells = [[cell_text(v) for v in col.to_list()] for col in frame.get_columns()]
    if limit is not None:
        names = [_cut(n, limit) for n in names]
        cells = [[_cut(v, limit) for v in col] for col in cells]
    widths = [max([cell_len(names[i]), cell_len(types[i]), *map(cell_len, cells[i])]) for i in range(len(names))]
    sep = 2 if plain else 3  # "  " between plain columns, " │ " inside the box

    def total(idx: list[int], elided: bool) -> int:
        inner = sum(widths[i] for i in idx) + (1 if elided else 0)
        n = len(idx) + (1 if elided else 0)
        return inner + sep * max(n - 1, 0) + (0 if plain else 4)

    shown = list(range(len(names)))
    elided = False
    if width is not None and shown and total(shown, False) > width:
        left, right_side = [], []
        # take columns alternately from the left and the right while they fit, like duckbox
        candidates = list(range(len(names)))
        take_left = True
        while candidates:
            i = candidates.pop(0) if take_left else candidates.pop()
            trial = sorted([*left, *right_side, i])
            if total(trial, True) > width:
                break
            (left if take_left else right_side).append(i)
            take_left = not take_left
        if not left:  # not even one column fits: show the first, cut to the width
            left = [0]
            widths[0] = max(1, width - (0 if plain else 4) - ((sep + 1) if len(names) > 1 else 0))
            names[0] = _cut(names[0], widths[0])
            types[0] = _cut(types[0], widths[0])
            cells[0] = [_cut(v, widths[0]) for v in cells[0]]
        elided = len(left) + len(right_side) < len(names)
        shown = sorted(left) + ([-1] if elided else []) + sorted(right_side)  # -1 marks the elided columns
    cols = shown

    def line(values: list[str], aligns: list[bool]) -> str:
        parts = [_pad(v, widths[i] if i >= 0 else 1, a) for v, i, a in zip(values, cols, aligns)]
        if plain:
            return "  ".join(parts).rstrip()
        return "│ " + " │ ".join(parts) + " │"

    def rule(left_c: str, mid: str, right_c: str) -> str:
        return left_c + mid.join("─" * ((widths[i] if i >= 0 else 1) + 2) for i in cols) + right_c

    def pick(seq: list[str], filler: str) -> list[str]:
        return [seq[i] if i >= 0 else filler for i in cols]

    aligns = [right[i] if i >= 0 else False for i in cols]
    lines: list[str] = []
    if not plain:
        lines.append(rule("┌", "┬", "┐"))
    lines.append(line(pick(names, ELLIPSIS), [False] * len(cols)))
    lines.append(line(pick(types, ELLIPSIS), [False] * len(cols)))
    lines.append(rule("├", "┼", "┤") if not plain else "  ".join("-" * (widths[i] if i >= 0 else 1) for i in cols))
    for r in range(frame.height):
        lines.append(line([cells[i][r] if i >= 0 else ELLIPSIS for i in cols], aligns))
    if not plain:
        lines.append(rule("└", "┴", "┘"))
    footer = f"{frame.height:,} row{'s' if frame.height != 1 else ''}"
    if elided:
        footer += f" · {len(names)} columns ({len(cols) - 1} shown)"
    lines.append(footer)
    return "\n".join(lines) + "\n"
