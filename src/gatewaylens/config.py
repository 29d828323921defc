"""Settings read from the environment (one place, documented in docs/configuration.md).

| variable              | default                      | meaning                                         |
|-----------------------|------------------------------|-------------------------------------------------|
| GATEWAYLENS_DB        | data/gatewaylens.duckdb      | the warehouse file (one writer: the pipeline)   |
| GATEWAYLENS_SERVING   | <DB stem>.serving.duckdb     | read-only snapshot published for readers        |
| GATEWAYLENS_LANDING   | data/landing                 | where gateway log files land (YYYY/MM/DD/...)   |
| GATEWAYLENS_SALT      | gatewaylens-dev-salt-UNSAFE  | salt for user_hash; the default is NOT safe     |
| GATEWAYLENS_CATALOG   | (none)                       | CSV extending/overriding the model catalog      |
| GATEWAYLENS_BUDGETS   | (none)                       | CSV app,monthly_usd: budgets for spend_forecast |
| GATEWAYLENS_ALERT_WEBHOOKS | (none)                  | comma-separated webhook URLs for alerts         |
| GATEWAYLENS_SMTP_HOST/_PORT/_FROM/_TO/_USER/_PASSWORD/_STARTTLS | (none) | alert e-mail (smtplib)   |
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
    budgets: Path | None = Field(default=None, description="CSV with columns app, monthly_usd (spend_forecast budgets).")
    alert_webhooks: list[str] = Field(default_factory=list, description="Webhook URLs that receive alert changes (Slack-compatible JSON).")
    smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mail; unset = no e-mail.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_from: str = Field(default="gatewaylens@localhost", description="Sender address of alert e-mail.")
    smtp_to: list[str] = Field(default_factory=list, description="Recipients of alert e-mail (comma-separated).")
    smtp_user: str | None = Field(default=None, description="SMTP login (optional).")
    smtp_password: str | None = Field(default=None, description="SMTP password (optional; never logged or stored).")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS.")

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
        budgets=Path(env["GATEWAYLENS_BUDGETS"]) if env.get("GATEWAYLENS_BUDGETS") else None,
        alert_webhooks=_csv(env.get("GATEWAYLENS_ALERT_WEBHOOKS")),
        smtp_host=env.get("GATEWAYLENS_SMTP_HOST") or None,
        smtp_port=int(env.get("GATEWAYLENS_SMTP_PORT") or 25),
        smtp_from=env.get("GATEWAYLENS_SMTP_FROM") or "gatewaylens@localhost",
        smtp_to=_csv(env.get("GATEWAYLENS_SMTP_TO")),
        smtp_user=env.get("GATEWAYLENS_SMTP_USER") or None,
        smtp_password=env.get("GATEWAYLENS_SMTP_PASSWORD") or None,
        smtp_starttls=(env.get("GATEWAYLENS_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"),
    )


def _csv(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").split(",") if x.strip()]
