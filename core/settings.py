"""The one Settings object. Built once in a composition root (worker, API, CLI) and passed down.

Every value comes from the environment with the ``AWOOOI_`` prefix; secrets are ``SecretStr`` so
they never reach a log line or a repr by accident.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Locale = Literal["en", "zh-TW"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AWOOOI_", extra="ignore")

    # Temporal. An empty address means "start an embedded dev server" (only `awoooi dev` does).
    temporal_address: str = ""
    temporal_namespace: str = "default"
    task_queue: str = "awoooi-alerts"

    # Valkey / Redis. Empty means "start an embedded Valkey" (only `awoooi dev` does).
    redis_url: str = ""

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path(".awoooi")
    # Ports of the servers `awoooi dev` embeds when no address is configured.
    dev_temporal_port: int = Field(default=7233, ge=1, le=65535)
    dev_temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    dev_valkey_port: int = Field(default=6379, ge=1, le=65535)
    # `awoooi worker` run on its own serves /metrics here (on AWOOOI_API_HOST); 0 turns it off.
    # Under `awoooi dev` the API's /metrics already shows the worker's counters.
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)

    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_base: str = "https://api.telegram.org"

    sentry_api_url: str = "https://sentry.io"
    sentry_org: str | None = None
    sentry_api_token: SecretStr | None = None

    locale: Locale = "en"
    timezone: str = "UTC"

    webhook_token: SecretStr | None = None
    sentry_client_secret: SecretStr | None = None

    # Incident lifecycle. An open incident with no delivery for this long is closed as expired;
    # a resolved one lingers this long so a flap re-opens the same card instead of a new one.
    incident_idle_timeout_seconds: int = Field(default=24 * 3600, ge=60)
    resolve_grace_seconds: int = Field(default=300, ge=0)
    # How long the API waits for Temporal before answering 503 so the sender retries.
    temporal_rpc_timeout_seconds: float = Field(default=5.0, gt=0)

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_bot_token", "sentry_api_token", "webhook_token", "sentry_client_secret")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def incident_idle_timeout(self) -> timedelta:
        return timedelta(seconds=self.incident_idle_timeout_seconds)

    @property
    def resolve_grace(self) -> timedelta:
        return timedelta(seconds=self.resolve_grace_seconds)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(self.telegram_chat_id)
