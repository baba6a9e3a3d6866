"""The one Settings object. Built once in a composition root (worker, API, CLI) and passed down.

Every value comes from the environment with the ``AWOOOI_`` prefix; secrets are ``SecretStr`` so
they never reach a log line or a repr by accident.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from typing import Annotated

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Locale = Literal["en", "zh-TW"]
ExecutorName = Literal["dry-run", "kubernetes", "webhook"]
_URL_FIELDS = {"redis_url", "repair_webhook_url", "llm_base_url", "sentry_api_url", "telegram_api_base"}
_CREDENTIALS = re.compile(r"(//)[^/@\s]*@")
_QUERY = re.compile(r"\?.*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AWOOOI_", extra="ignore")

    # Temporal. An empty address means "start an embedded dev server" (only `awoooi dev` does).
    temporal_address: str = ""
    temporal_namespace: str = "default"
    task_queue: str = "awoooi-alerts"
    # Production Temporal: PEM file paths for mTLS (client cert + key, both or neither) and a CA for
    # a server certificate no system root signs; an API key for Temporal Cloud (implies TLS).
    # FilePath: a wrong path fails at start, naming the setting, not at the first reconnect.
    temporal_tls_cert: FilePath | None = None
    temporal_tls_key: FilePath | None = None
    temporal_tls_ca: FilePath | None = None
    temporal_api_key: SecretStr | None = None

    # Valkey / Redis. Empty means "start an embedded Valkey" (only `awoooi dev` does).
    redis_url: str = ""
    # Per command and per connect; a dead connection is retried with backoff (worker/wiring.py).
    redis_socket_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Connections one process opens to Valkey at most; a command beyond them waits (up to the socket
    # timeout) for a free one rather than failing.
    redis_max_connections: int = Field(default=100, ge=2, le=10_000)
    # On SIGTERM the worker stops polling and gives running activities this long to finish
    # (keep it under the pod's terminationGracePeriodSeconds, 30 s by default).
    worker_shutdown_grace_seconds: float = Field(default=25.0, ge=0, le=3600)

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # How long the API keeps an idle HTTP connection open. It must outlast the senders' own idle
    # reuse (httpx 5 s, a load balancer's 60 s): when the server closes first, a request already on
    # its way down the reused connection gets no answer ("Server disconnected"). uvicorn's 5 s
    # equalled httpx's and made exactly that race in the suite (issue 8, session 15).
    api_keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    data_dir: Path = Path(".awoooi")
    # Ports of the servers `awoooi dev` embeds when no address is configured.
    dev_temporal_port: int = Field(default=7233, ge=1, le=65535)
    dev_temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    dev_valkey_port: int = Field(default=6379, ge=1, le=65535)
    # `awoooi worker` run on its own serves /metrics here (on AWOOOI_API_HOST); 0 turns it off.
    # Under `awoooi dev` the API's /metrics already shows the worker's counters.
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # Workflow instances a worker keeps in memory (the SDK's default, 1,000: 444 MB with 1,020 open
    # incidents, bench/storm.py phase 4; 250 gave 239 MB). Evicted ones replay from history at their
    # next task, which costs CPU in a storm. (The nondeterminism once blamed on 250 was an SDK bug
    # any replay can meet, fixed by patches-first-v1: docs/adr/0017.)
    worker_max_cached_workflows: int = Field(default=1000, ge=0)
    # Activities one worker runs at once. A digest line's place_card holds its slot until the
    # coalesced edit shows the line (up to AWOOOI_DIGEST_EDIT_INTERVAL_SECONDS): at 20 slots that made
    # a storm of new incidents 20 lines per edit interval, ~400/min (bench phase 1). Telegram's limits
    # are kept by the pacer (activities/chat/pacing.py), not by a small pool.
    worker_max_concurrent_activities: int = Field(default=200, ge=1, le=10_000)
    # Workflow tasks and local activities one worker runs at once. Few, on purpose: what the worker
    # has not taken waits in Temporal's task queue, where the priority and fairness keys order it
    # (core/priority.py); what it has taken waits in the worker's own first-come queue. With the
    # SDK's defaults (100 and 100) a 2,000-alert backlog held a new alert's first task 49 s; with 10
    # and 20, 1-2 s at the same throughput (bench/backlog.py, docs/adr/0022-first-words-first.md).
    worker_max_concurrent_workflow_tasks: int = Field(default=10, ge=2, le=10_000)
    worker_max_concurrent_local_activities: int = Field(default=20, ge=1, le=10_000)
    # The Temporal SDK's metric updates wait in a buffer of this many entries until the worker drains
    # it into /metrics, every drain interval whether or not anyone scrapes (worker/sdk_metrics.py). A
    # storm records about a thousand a second; a full buffer drops updates (counted, warned once).
    worker_sdk_metrics_buffer: int = Field(default=50_000, ge=10, le=10_000_000)
    worker_sdk_metrics_drain_seconds: float = Field(default=1.0, gt=0, le=300)

    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_base: str = "https://api.telegram.org"

    # A storm of distinct alerts: past this many new incidents in a chat within a minute, further ones
    # are lines of one digest message, edited at most every edit interval (docs/adr/0016).
    digest_threshold: int = Field(default=10, ge=1)
    digest_edit_interval_seconds: float = Field(default=3.0, gt=0, le=60)
    # The storm window: new incidents are counted over it, a digest message takes lines for as long
    # as they keep coming within it, and an open digested incident asks for its own card again after it
    # (then after doubling waits, up to 16 windows).
    digest_window_seconds: float = Field(default=60.0, ge=1, le=3600)

    sentry_api_url: str = "https://sentry.io"
    sentry_org: str | None = None
    sentry_api_token: SecretStr | None = None

    locale: Locale = "en"
    timezone: str = "UTC"

    webhook_token: SecretStr | None = None
    # Request bodies over this many bytes get 413 before they are read (starter/body_limit.py).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # After an answer given before the body was read (413, 401...), the API keeps reading and
    # discarding the rest of the body, up to this many bytes and this long, before it closes the
    # connection: closing at once resets it, and the sender never reads the answer (a lingering close,
    # as nginx does: starter/lingering_close.py, docs/adr/0027-lingering-close.md).
    api_linger_bytes: int = Field(default=512 * 1024 * 1024, ge=0)
    api_linger_seconds: float = Field(default=10.0, ge=0, le=300)
    sentry_client_secret: SecretStr | None = None

    # Incident lifecycle. An open incident with no delivery for this long is closed as expired;
    # a resolved one lingers this long so a flap re-opens the same card instead of a new one.
    incident_idle_timeout_seconds: int = Field(default=24 * 3600, ge=60)
    resolve_grace_seconds: int = Field(default=300, ge=0)
    # An incident's run continues as new after this many deliveries (or when Temporal suggests it),
    # well before the history limits; its state and unhandled deliveries carry over.
    incident_max_deliveries_per_run: int = Field(default=500, ge=1)
    # How long an approve/reject call, and the spool's drainer, wait for Temporal.
    temporal_rpc_timeout_seconds: float = Field(default=5.0, gt=0)
    # How long a webhook delivery waits for Temporal before it goes to the durable spool in Valkey
    # (answered 200 "spooled", started by the drainer once Temporal answers): senders give up after
    # about 1 s (Sentry) or 10 s (Alertmanager), so this stays well under a second.
    intake_direct_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    # Signals in flight to Temporal at once, per API process. A batch that finds none free within
    # intake_overflow_wait_ms goes to the durable spool instead of queueing in memory (issue 8).
    intake_concurrency: int = Field(default=32, ge=1, le=1024)
    intake_overflow_wait_ms: float = Field(default=20.0, ge=0, le=5000)
    # Group commit (docs/adr/0015-group-commit-intake.md): deliveries for one incident that arrive
    # within this window, or while its previous signal is in flight, are one signal; spool writes
    # within it are one fsync.
    intake_batch_window_ms: float = Field(default=2.0, ge=0, le=100)
    intake_batch_max: int = Field(default=200, ge=1, le=1000)
    # Storms (docs/adr/0023-storm-cost-per-sender.md): while deliveries arrive faster than this per
    # second (per API process), a repeat of an incident with a delivery within intake_storm_hot_seconds
    # goes to the durable spool, whose drainer sends each incident's entries as one batch; 0 = off.
    intake_storm_rate: float = Field(default=20.0, ge=0)
    intake_storm_hot_seconds: float = Field(default=10.0, gt=0, le=3600)
    # The drainer keeps a storm's repeats until this many of one incident can leave as one signal
    # (one workflow task), no storm repeat came for intake_storm_quiet_ms, or the oldest is
    # intake_storm_hold_ms old (docs/adr/0032); resolutions and first deliveries are never held.
    intake_storm_batch: int = Field(default=50, ge=1, le=200)
    intake_storm_quiet_ms: float = Field(default=3000.0, ge=0, le=60_000)
    intake_storm_hold_ms: float = Field(default=30_000.0, ge=0, le=120_000)
    # The drain lease: a replica that died holding it is replaced after this long.
    spool_lease_seconds: float = Field(default=10.0, ge=1, le=300)

    # Repairs. `dry-run` records what it would do and changes nothing (docs/adr/0006-repairs-and-approvals.md).
    repair_executor: ExecutorName = "dry-run"
    # A tier-1 repair runs without asking once learning is at least this sure of it.
    auto_repair_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    repair_max_per_hour: int = Field(default=3, ge=0)
    repair_max_per_day: int = Field(default=7, ge=0)
    # Seconds (or an ISO 8601 duration such as PT30M).
    approval_timeout: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0))
    verify_window: timedelta = Field(default=timedelta(minutes=10), gt=timedelta(0))
    # A count-only change edits an incident's card at most this often; a state change (resolve,
    # re-open, approval) goes out at once (issue 8). Seconds or ISO 8601.
    card_edit_interval: timedelta = Field(default=timedelta(seconds=10), ge=timedelta(0))
    # And count-only changes never make an incident's card cost more than this many Telegram calls
    # within any card_budget_window (its first card counts; state changes neither count nor wait):
    # a long storm edits a card twice a minute, not six times (issue 8). 0 turns it off.
    card_budget_calls: int = Field(default=2, ge=0, le=100)
    card_budget_window: timedelta = Field(default=timedelta(seconds=60), ge=timedelta(0), le=timedelta(hours=1))
    # Telegram's flood limits, kept by all workers together through Valkey (activities/chat/pacing.py).
    telegram_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    telegram_group_per_minute: int = Field(default=20, ge=1, le=10_000)
    telegram_global_per_second: int = Field(default=30, ge=1, le=10_000)
    telegram_best_effort_wait_seconds: float = Field(default=1.0, ge=0, le=30)
    # The quick Valkey steps and the rule analysis as local activities (docs/adr/0003-local-activities.md).
    local_steps: bool = True
    # Telegram user ids allowed to approve or reject (comma-separated).
    telegram_approver_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The secret_token given to setWebhook; Telegram sends it in X-Telegram-Bot-Api-Secret-Token.
    telegram_webhook_secret: SecretStr | None = None
    # Bearer token for POST /api/v1/incidents/{id}/approve|reject, the learning API and the
    # Alertmanager-compatible silences API (/api/v2/silences, what amtool talks to).
    api_token: SecretStr | None = None
    # Maintenance windows: Alertmanager time_intervals with matchers, YAML or JSON (core/maintenance.py);
    # matching alerts behave as silenced inside them. Re-read when the file changes.
    maintenance_file: FilePath | None = None
    # The night shift (docs/adr/0025-acks-and-escalation.md). Acknowledgements: the card's Ack button,
    # /ack, `awoooi ack`, POST /api/v1/incidents/{id}/ack and the Acked search attribute.
    acks: bool = True
    # Re-notify an open unacknowledged incident in its chat (a reply to its card) after each of these
    # waits, in minutes (comma-separated; the last repeats); empty: never for that severity.
    renotify_critical: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [15.0, 30.0, 60.0, 120.0])
    renotify_error: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [30.0, 60.0, 120.0])
    renotify_warning: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [60.0, 240.0])
    renotify_info: Annotated[list[float], NoDecode] = Field(default_factory=list)
    # After this many seconds unacknowledged, an incident of escalate_severities is also posted (once)
    # to the escalation chat; no escalation chat, no escalation.
    escalate_after: int = Field(default=1800, ge=1)
    escalate_severities: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["critical"])
    escalation_chat_id: str | None = None
    # MTTA, MTTR and repair outcomes on /metrics (issue 21), observed once per incident.
    incident_metrics: bool = True
    # Silenced incidents (docs/adr/0029): a new incident asks the silence verdict before its first card;
    # a silenced one sends no card, re-notification or repair, and asks again at the silence's end or
    # after AWOOOI_SILENCE_RECHECK_SECONDS, whichever is first.
    incident_silences: bool = True
    silence_recheck_seconds: float = Field(default=900.0, ge=10, le=86400)
    # Flapping (docs/adr/0031-flapping.md): more than flap_count re-fires after a resolution within
    # flap_window seconds mark an incident flapping (0: never): its card says so, shows changes at most
    # once a window, runs no automatic repair, and says "stable again" after a quiet window.
    flap_count: int = Field(default=3, ge=0, le=1000)
    flap_window: int = Field(default=3600, ge=60, le=7 * 86400)
    # Kubernetes executor: a kubeconfig file, else in-cluster config, else ~/.kube/config.
    kubernetes_kubeconfig: Path | None = None
    kubernetes_context: str | None = None
    kubernetes_namespace: str = "default"
    repair_scale_min: int = Field(default=1, ge=0)
    repair_scale_max: int = Field(default=10, ge=1)
    # Webhook executor: the runbook URL (Rundeck, StackStorm, AWX...) and the HMAC signing secret.
    repair_webhook_url: str | None = None
    repair_webhook_secret: SecretStr | None = None

    # LLM analysis over an OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM, LiteLLM).
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    # The alert-chain probe (docs/adr/0009-alert-chain-probe.md). Empty api_base means
    # http://127.0.0.1:$AWOOOI_API_PORT. Probe cards go to the probe chat; without one the notify
    # step is verified without sending anything.
    api_base: str = ""
    probe_interval: int = Field(default=300, ge=10)  # seconds
    probe_deadline: float = Field(default=60.0, gt=0)  # seconds
    telegram_probe_chat_id: str | None = None

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

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        """Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - as a webhook secret_token."""
        if value is not None and value.get_secret_value().strip():
            secret = value.get_secret_value()
            if len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
                raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("approval_timeout", "verify_window", "card_edit_interval", "card_budget_window", mode="before")
    @classmethod
    def _plain_seconds(cls, value: object) -> object:
        """An environment variable of plain digits means seconds (pydantic wants ISO 8601 otherwise)."""
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    @field_validator("renotify_critical", "renotify_error", "renotify_warning", "renotify_info", mode="before")
    @classmethod
    def _minutes(cls, value: object) -> object:
        """ "15,30,60,120" (minutes, fractions allowed); each wait at least 3 s, so "0" cannot flood a chat."""
        if isinstance(value, str):
            value = [part.strip() for part in value.strip().removeprefix("[").removesuffix("]").split(",")
                     if part.strip()]
        if isinstance(value, list):
            for wait in value:
                if float(wait) < 0.05:
                    raise ValueError("re-notification waits are minutes, at least 0.05 (3 s)")
        return value

    @field_validator("escalate_severities", mode="before")
    @classmethod
    def _severities(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        known = {"critical", "error", "warning", "info"}
        if isinstance(value, list) and not set(value) <= known:
            raise ValueError(f"severities are some of {sorted(known)}")
        return value

    @field_validator("telegram_approver_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            # "1,22", "1; 22" or a JSON list "[1, 22]".
            cleaned = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip() for part in cleaned.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator(
        "telegram_bot_token", "sentry_api_token", "webhook_token", "sentry_client_secret",
        "telegram_webhook_secret", "api_token", "repair_webhook_secret", "llm_api_key",
        "temporal_api_key",
    )
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    def __repr_args__(self):  # noqa: ANN204 - pydantic's hook
        """URLs may carry credentials (``redis://:password@host``): mask them in every repr."""
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                value = _QUERY.sub("?***", _CREDENTIALS.sub(r"\1***@", value))
            yield name, value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        """A client certificate without its key (or the reverse) is a typo, not a choice."""
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("AWOOOI_TEMPORAL_TLS_CERT and AWOOOI_TEMPORAL_TLS_KEY go together")
        return self

    @property
    def temporal_tls(self) -> bool:
        return bool(self.temporal_tls_cert or self.temporal_tls_ca or self.temporal_api_key)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def probe_api_base(self) -> str:
        return (self.api_base or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    @property
    def renotify_minutes(self) -> dict[str, list[float]]:
        return {"critical": self.renotify_critical, "error": self.renotify_error,
                "warning": self.renotify_warning, "info": self.renotify_info}

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)
