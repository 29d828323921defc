"""Settings read from the environment (one place, documented in docs/configuration.md).

| variable              | default                      | meaning                                         |
|-----------------------|------------------------------|-------------------------------------------------|
| GATEWAYLENS_DB        | data/gatewaylens.duckdb      | the warehouse file (one writer: the pipeline)   |
| GATEWAYLENS_SERVING   | <DB stem>.serving.duckdb     | read-only snapshot published for readers        |
| GATEWAYLENS_LANDING   | data/landing                 | where gateway log files land (YYYY/MM/DD/...)   |
| GATEWAYLENS_SALT      | gatewaylens-dev-salt-UNSAFE  | salt for user_hash; the default is NOT safe     |
| GATEWAYLENS_CATALOG   | (none)                       | CSV extending/overriding the model catalog      |
| GATEWAYLENS_PROVIDERS | (none)                       | CSV extending/overriding the provider catalogue |
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
    providers: Path | None = Field(default=None, description="CSV extending/overriding the packaged provider "
                                   "catalogue (data policies; src/gatewaylens/data/providers.csv).")

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
        providers=Path(env["GATEWAYLENS_PROVIDERS"]) if env.get("GATEWAYLENS_PROVIDERS") else None,
    )
