"""Settings read from the environment (one place, documented in docs/configuration.md).

| variable              | default                      | meaning                                         |
|-----------------------|------------------------------|-------------------------------------------------|
| GATEWAYLENS_DB        | data/gatewaylens.duckdb      | the warehouse file (one writer: the pipeline)   |
| GATEWAYLENS_SERVING   | <DB stem>.serving.duckdb     | read-only snapshot published for readers        |
| GATEWAYLENS_LANDING   | data/landing                 | where gateway log files land (YYYY/MM/DD/...)   |
| GATEWAYLENS_SALT      | gatewaylens-dev-salt-UNSAFE  | salt for user_hash; the default is NOT safe     |
| GATEWAYLENS_CATALOG   | (none)                       | CSV extending/overriding the model catalog      |
| GATEWAYLENS_CONSOLE_* | see docs/configuration.md    | limits of SQL-console / `gatewaylens sql` runs  |
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

DEFAULT_SALT = "gatewaylens-dev-salt-UNSAFE"


class Settings(BaseModel):
    db: Path = Field(default=Path("data/gatewaylens.duckdb"))
    serving: Path | None = None
    landing: Path = Field(default=Path("data/landing"))
    salt: str = DEFAULT_SALT
    catalog: Path | None = None
    # Limits of one SQL-console / `gatewaylens sql` query (each runs in a worker process of its own).
    console_timeout_s: float = Field(default=15.0, gt=0, description="wall-clock seconds before the worker is killed")
    console_memory_mb: int = Field(default=1024, ge=16, description="DuckDB memory_limit of the worker, MiB")
    console_threads: int = Field(default=1, ge=1, description="DuckDB threads of the worker")
    console_row_limit: int = Field(default=10_000, ge=1, description="most rows a query returns")
    console_result_mb: int = Field(default=64, ge=1, description="most result bytes (Arrow size) a query returns, MiB")

    @property
    def serving_path(self) -> Path:
        return self.serving or serving_path_for(self.db)

    @property
    def salt_is_default(self) -> bool:
        return self.salt == DEFAULT_SALT


def serving_path_for(db: Path) -> Path:
    """The serving snapshot that sits beside a warehouse file: data/x.duckdb -> data/x.serving.duckdb."""
    db = Path(db)
    return db.with_name(f"{db.stem}.serving{db.suffix or '.duckdb'}")


def settings() -> Settings:
    """Current settings from the environment (read on every call: tests monkeypatch env vars)."""
    env = os.environ
    return Settings(
        db=Path(env.get("GATEWAYLENS_DB") or "data/gatewaylens.duckdb"),
        serving=Path(env["GATEWAYLENS_SERVING"]) if env.get("GATEWAYLENS_SERVING") else None,
        landing=Path(env.get("GATEWAYLENS_LANDING") or "data/landing"),
        salt=env.get("GATEWAYLENS_SALT") or DEFAULT_SALT,
        catalog=Path(env["GATEWAYLENS_CATALOG"]) if env.get("GATEWAYLENS_CATALOG") else None,
        **{
            name: env[var]
            for name, var in (
                ("console_timeout_s", "GATEWAYLENS_CONSOLE_TIMEOUT_S"),
                ("console_memory_mb", "GATEWAYLENS_CONSOLE_MEMORY_MB"),
                ("console_threads", "GATEWAYLENS_CONSOLE_THREADS"),
                ("console_row_limit", "GATEWAYLENS_CONSOLE_ROW_LIMIT"),
                ("console_result_mb", "GATEWAYLENS_CONSOLE_RESULT_MB"),
            )
            if env.get(var)
        },
    )
