"""Small text renderings shared by the CLI and the Dagster metadata."""

from __future__ import annotations

import polars as pl


def frame_to_markdown(frame: pl.DataFrame, max_rows: int = 10) -> str:
    """A GitHub-flavoured markdown table of the first ``max_rows`` rows."""
    head = frame.head(max_rows)
    cols = head.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in head.iter_rows():
        cells = [f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v)) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
