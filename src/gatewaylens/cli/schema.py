"""``gatewaylens schema``: print or write the canonical line's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gatewaylens.cli import app
from gatewaylens.cli._common import out
from gatewaylens.schema import canonical_json_schema, write_json_schema


@app.command()
def schema(write: Path | None = typer.Option(None, "--write", help="Write the JSON Schema to this file.")) -> None:
    """The JSON Schema of one canonical JSONL line (exported from the pydantic model)."""
    if write is not None:
        write_json_schema(write)
        out.print(f"wrote {write}")
    else:
        out.print_json(json.dumps(canonical_json_schema()))
