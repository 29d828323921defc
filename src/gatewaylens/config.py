"""Settings: every environment variable gatewaylens reads, declared once, read in one place.

Each field of :class:`Settings` (and of its nested :class:`MartSettings`) is read from the
environment variable ``GATEWAYLENS_<FIELD>`` (upper case), validated by pydantic, and documented
by its ``description`` — docs/configuration.md is generated from these fields
(:func:`configuration_markdown`; a test keeps it in sync). Nothing else in the code base reads
``os.environ`` (``DAGSTER_HOME`` is Dagster's own, read in ``pipelines/instance.py``).

Adding a setting = one field here with a default and a description (+ regenerate the table in
docs/configuration.md). Read it with ``settings().<field>`` (mart SQL reads the
:class:`MartSettings` fields with ``getvariable('<field>')``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "GATEWAYLENS_"
DEFAULT_DB = Path("data/gatewaylens.duckdb")
DEFAULT_QUARANTINE_THRESHOLD = 0.01


class MartSettings(BaseModel):
    """Settings the mart SQL reads with ``getvariable(name)`` (bound by the runner)."""

    variance_window_days: int = Field(
        default=7, ge=1, le=90,
        description="Trailing window of provider_variance, in days (window_end included).",
    )
    practical_threshold: float = Field(
        default=0.02, gt=0, lt=1,
        description="Minimum |rate_delta| (absolute, 0-1 scale: 0.02 = 2 percentage points) for a "
        "significant difference to be flagged; applies to tool-call and error rates.",
    )
    alpha: float = Field(
        default=0.05, gt=0, lt=1,
        description="Family-wise error rate of the Holm correction (per window_end day and metric).",
    )
    min_requests: int = Field(
        default=30, ge=1,
        description="Minimum denominator of a pair and of its reference for a p-value to be computed.",
    )
    batch_window_start_hour: int = Field(default=1, ge=0, le=23, description="Batch window start, UTC hour (inclusive), of load_profile_daily.")
    batch_window_end_hour: int = Field(default=3, ge=1, le=24, description="Batch window end, UTC hour (exclusive), of load_profile_daily.")

    regression_history_days: int = Field(
        default=120, ge=42, le=730,
        description="Days of provider_metrics_daily history provider_regressions reads before each day (a change is "
        "listed until its 28-day baseline leaves this history).",
    )
    regression_false_alarm_rate: float = Field(
        default=0.001, gt=0, lt=0.5,
        description="False alarms per pair-metric-day of provider_regressions on unchanged traffic, at most (sets the "
        "calibrated CUSUM thresholds: half to the peer-relative scan, half to the model-wide scan).",
    )
    regression_min_relative_change: float = Field(
        default=0.1, ge=0, le=10,
        description="Practical threshold of provider_regressions: a change must move the pair by this share of its "
        "trend-predicted level and of its baseline mean (and its gap to the peers by as much).",
    )
    anomaly_baseline_days: int = Field(
        default=28, ge=14, le=120, description="Trailing baseline of usage_anomalies_daily and spend_forecast, days.",
    )
    anomaly_false_alarm_rate: float = Field(
        default=0.001, gt=0, lt=0.5,
        description="Expected false anomalies per subject-metric-day of usage_anomalies_daily (two-sided).",
    )

    @model_validator(mode="after")
    def _window_order(self) -> "MartSettings":
        if self.batch_window_end_hour <= self.batch_window_start_hour:
            raise ValueError(
                f"batch window end hour ({self.batch_window_end_hour}) must be after its start hour "
                f"({self.batch_window_start_hour})"
            )
        return self


class Settings(BaseModel):
    """Every setting of gatewaylens; field ``x`` is read from ``GATEWAYLENS_X``."""

    # --- where things are
    db: Path = Field(default=DEFAULT_DB, description="The warehouse DuckDB file (one writer: the pipeline). "
                     "In `lake` storage mode it holds nothing but is still the default anchor of the serving file.")
    serving: Path | None = Field(default=None, description="Read-only serving snapshot published for readers "
                                 "(default: `<db stem>.serving.duckdb` beside the warehouse).")
    landing: Path = Field(default=Path("data/landing"), description="Landing folder of gateway log files (`YYYY/MM/DD/*.jsonl[.gz]`).")
    catalog: Path | None = Field(default=None, description="CSV extending/overriding the packaged model catalog.")
    providers: Path | None = Field(default=None, description="CSV extending/overriding the packaged provider catalogue "
                                   "(what each provider publishes about prompts: src/gatewaylens/data/providers.csv).")
    model_aliases: Path | None = Field(
        default=None,
        description="CSV `alias,model[,note]` mapping site-specific model ids (Azure deployment names, Bedrock "
        "application inference profiles, fine-tunes) to canonical slugs; its rows override the packaged "
        "data/model_aliases.csv (see docs/formats.md, Model identity).",
    )
    # --- storage and engine
    storage: Literal["duckdb", "lake"] = Field(
        default="duckdb",
        description="`duckdb`: everything in the warehouse file (default). `lake`: hive-partitioned Parquet "
        "under GATEWAYLENS_LAKE (one file per table and day, published atomically) — see docs/deployment.md.",
    )
    lake: str = Field(default="data/lake", description="Root of the Parquet lake (`storage=lake`): a local folder, or an "
                      "fsspec/pyarrow URL such as `s3://bucket/gatewaylens` (see docs/deployment.md).")
    engine: Literal["duckdb", "spark"] = Field(default="duckdb", description="Engine that ingests and builds the marts "
                                               "(`spark` needs `storage=lake`).")
    spark_master: str = Field(default="local[*]", description="Spark master of the `spark` engine: `local[N]` (N "
                              "executor threads in this process), `spark://host:7077`, `yarn`, `k8s://...` (see docs/deployment.md).")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark configuration of the `spark` engine, "
                                       "a JSON object, e.g. `{\"spark.executor.memory\": \"8g\", \"spark.sql.shuffle.partitions\": \"400\"}` "
                                       "(the session time zone stays UTC).")
    # --- privacy
    salt: str | None = Field(default=None, description="Salt of `user_hash` (a secret). Unset: the first run "
                             "generates a random salt into `<folder of GATEWAYLENS_DB>/.gatewaylens-salt` (mode 0600) "
                             "and later runs read it back (see docs/ingest.md).")
    # --- ingest limits (per file; docs/ingest.md)
    ingest_max_file_bytes: int = Field(default=64 << 30, ge=1, description="Largest decompressed size of one input "
                                       "file, bytes; a larger file is recorded as one `over limit` record.")
    ingest_max_gzip_ratio: float = Field(default=100.0, gt=1, description="Largest decompression ratio of a .gz file "
                                         "(decompressed / compressed bytes, checked past the first MiB); above it the "
                                         "file is a decompression bomb, recorded as one `over limit` record.")
    ingest_max_quarantine_rows_per_file: int = Field(default=1000, ge=0, description="Rejected records of one file "
                                                     "stored one by one in quarantine; the rest are counted in one "
                                                     "`too many rejected records` row.")
    ingest_memory_limit: str = Field(default="1GB", description="DuckDB memory_limit during an ingest (it spills to "
                                     "disk beyond it), so ingest memory does not grow with the input.")
    lock_wait_s: float = Field(default=180.0, ge=0, description="How long a writer waits for the warehouse lock held "
                               "by another writer before it gives up with one sentence (CLI: exit code 3).")
    # --- orchestration and checks
    start_date: dt.date = Field(default=dt.date(2025, 1, 1), description="First partition of the daily partitioning (Dagster).")
    quarantine_max: float = Field(default=DEFAULT_QUARANTINE_THRESHOLD, ge=0, le=1,
                                  description="Quarantined / read lines above which the warning check on `requests` fires.")
    lock_retries: int = Field(default=8, ge=0, le=30, description="Retries when the warehouse file is locked by another "
                              "writer (exponential backoff from lock_base_delay_s, capped at 5 s per wait at connect, 30 s during work).")
    lock_base_delay_s: float = Field(default=0.1, gt=0, le=60, description="First wait of the lock retry backoff, seconds.")
    # --- SQL console and `gatewaylens sql`: limits of one query (each runs in a worker process of its own)
    console_timeout_s: float = Field(default=15.0, gt=0, le=3600, description="Wall-clock seconds a console / "
                                     "`gatewaylens sql` query may run before its worker process is killed.")
    console_memory_mb: int = Field(default=1024, ge=16, description="DuckDB `memory_limit` of a console query's own "
                                   "instance, MiB (no spilling to disk); the worker is killed if its resident memory passes "
                                   "this + 512 MiB + 2 × the result cap.")
    console_threads: int = Field(default=1, ge=1, le=64, description="DuckDB `threads` of a console query.")
    console_row_limit: int = Field(default=10_000, ge=1, description="Most rows a console / `gatewaylens sql` query returns.")
    console_result_mb: int = Field(default=64, ge=1, description="Most bytes (Arrow size, MiB) a console / "
                                   "`gatewaylens sql` result may have; cut in the worker before it is sent, shown or exported.")
    # --- budgets and alerts
    budgets: Path | None = Field(default=None, description="CSV with columns `app,monthly_usd`: monthly budgets; "
                                 "`spend_forecast` gives the day each app's budget runs out.")
    alert_webhooks: list[str] = Field(default_factory=list, description="Comma-separated webhook URLs that receive alert "
                                      "state changes (Slack-compatible JSON: `text` + `alerts`). Secrets: never stored.")
    smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mail (unset: no e-mail).")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_from: str = Field(default="gatewaylens@localhost", description="Sender address of alert e-mail.")
    smtp_to: list[str] = Field(default_factory=list, description="Comma-separated recipients of alert e-mail.")
    smtp_user: str | None = Field(default=None, description="SMTP login (optional).")
    smtp_password: str | None = Field(default=None, description="SMTP password (optional; never logged or stored).")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS on the SMTP connection.")
    alert_retries: int = Field(default=3, ge=1, le=10, description="Send attempts per sink and delivery (exponential backoff).")
    alert_backoff_s: float = Field(default=1.0, ge=0, le=60, description="First wait between send attempts, seconds (doubles).")
    # --- marts (flat env names: GATEWAYLENS_VARIANCE_WINDOW_DAYS, ...)
    marts: MartSettings = Field(default_factory=MartSettings, description="Mart settings (flat variables, below).")

    @property
    def serving_path(self) -> Path:
        return self.serving or serving_path_for(self.db)

    @field_validator("spark_conf", mode="before")
    @classmethod
    def _conf_json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON object: {exc}") from None
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("alert_webhooks", "smtp_to", mode="before")
    @classmethod
    def _comma_list(cls, value):
        if isinstance(value, str):
            return [x.strip() for x in value.split(",") if x.strip()]
        return value

    @model_validator(mode="after")
    def _spark_needs_lake(self) -> "Settings":
        if self.engine == "spark" and self.storage != "lake":
            raise ValueError("GATEWAYLENS_ENGINE=spark needs GATEWAYLENS_STORAGE=lake")
        return self


def serving_path_for(db: Path) -> Path:
    """The serving snapshot that sits beside a warehouse file: data/x.duckdb -> data/x.serving.duckdb."""
    db = Path(db)
    return db.with_name(f"{db.stem}.serving{db.suffix or '.duckdb'}")


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _from_env(model: type[BaseModel], env: dict[str, str]) -> dict:
    values: dict = {}
    for name in model.model_fields:
        if name == "marts":
            continue
        raw = env.get(env_name(name))
        if raw not in (None, ""):
            values[name] = raw
    return values


def settings(env: dict[str, str] | None = None) -> Settings:
    """Current settings from the environment (read on every call: tests monkeypatch env vars).
    An invalid value raises ``ValueError`` naming the variable."""
    env = dict(os.environ if env is None else env)
    try:
        return Settings.model_validate({**_from_env(Settings, env), "marts": _from_env(MartSettings, env)})
    except ValidationError as exc:
        names = sorted({env_name(str(e["loc"][-1] if e["loc"] else "?")) for e in exc.errors()})
        raise ValueError(f"invalid setting in the environment ({', '.join(names)}): {exc}") from None


def mart_settings() -> MartSettings:
    """The mart settings of the current environment."""
    return settings().marts


def configuration_markdown() -> str:
    """The variables table of docs/configuration.md (generated from the fields)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]

    def add(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            if name == "marts":
                continue
            default = field.get_default(call_default_factory=True)
            shown = "(none)" if default is None else f"`{default}`"
            if name == "serving":
                shown = "`<db stem>.serving.duckdb`"
            rows.append(f"| `{env_name(name)}` | {shown} | {(field.description or '').replace('|', '/')} |")

    add(Settings)
    add(MartSettings)
    return "\n".join(rows) + "\n"
