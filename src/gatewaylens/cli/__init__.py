"""The ``gatewaylens`` command line. One module per command; each registers on :data:`app`.

Exit codes: 0 ok, 1 failure while running, 2 bad usage or bad input (e.g. a missing path).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="gatewaylens",
    help="Usage analytics over LLM-gateway request logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules register themselves on `app` when imported.
from gatewaylens.cli import ingest as _ingest  # noqa: E402,F401
from gatewaylens.cli import generate as _generate  # noqa: E402,F401
from gatewaylens.cli import schema as _schema  # noqa: E402,F401
from gatewaylens.cli import build as _build  # noqa: E402,F401
from gatewaylens.cli import sql as _sql  # noqa: E402,F401
from gatewaylens.cli import alerts as _alerts  # noqa: E402,F401


def main() -> None:  # pragma: no cover - console entry point
    app()
