"""Ports: the Protocols activities depend on. Adapters in ``activities/`` implement them.

Activities hold a port, never a Redis or HTTP client directly, so each adapter can be exercised
against its real server (Valkey, a loopback Telegram/Sentry) and swapped without touching the
workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from core.learning import LearningSummary
from core.models import Alert, Analysis, Frequency, SpooledDelivery, SpoolStats
from core.repair import RepairRequest, RepairResult


class Analyzer(Protocol):
    """Turns an alert into an Analysis. ``history`` is what learning knows about its anomaly key
    (the LLM analyzer puts it in the prompt; the rule analyzer ignores it)."""

    name: str

    async def analyze(
        self, alert: Alert, frequency: Frequency | None = None, history: LearningSummary | None = None
    ) -> Analysis: ...


class RepairExecutor(Protocol):
    """Carries out (or simulates) one repair. Chosen by AWOOOI_REPAIR_EXECUTOR.

    Returns a RepairResult that says what happened: ``executed``, ``simulated`` (dry-run),
    ``failed`` (the target refused: 4xx, not found, forbidden) or ``unsupported`` (this executor
    cannot do the action, or the alert names no target for it). Raises ``UpstreamError`` only for
    transient trouble a retry can fix (transport errors, 5xx, 429); ``repair_id`` is stable across
    retries so a retry never repairs twice where the target lets us tell.
    """

    name: str
    # True when it changes nothing (dry-run): its runs spend no repair budget and teach nothing.
    dry_run: bool

    def check(self, request: RepairRequest) -> str | None:
        """Why this executor cannot carry out ``request`` (no target label, an action it cannot do),
        or None. Asked before anyone is asked to approve: never offer a button that cannot work."""
        ...

    async def execute(self, request: RepairRequest) -> RepairResult: ...


class AnomalyCounter(Protocol):
    """Occurrence counting per anomaly key (seed phases A and C)."""

    async def record(self, anomaly_key: str, occurrence_id: str, at: datetime) -> Frequency:
        """Count one occurrence. Recording the same ``occurrence_id`` twice counts it once."""
        ...

    async def record_many(self, anomaly_key: str, occurrence_ids: list[str], at: datetime) -> Frequency:
        """Count a batch in one round trip; each id counts once, however often it is recorded."""
        ...

    async def frequency(self, anomaly_key: str, now: datetime) -> Frequency: ...


class DeliveryLedger(Protocol):
    """Remembers which deliveries and side effects have already happened (idempotency keys)."""

    async def seen(self, key: str) -> bool: ...

    async def seen_many(self, keys: list[str]) -> list[bool]:
        """``seen`` for a batch, in one round trip."""
        ...

    async def remember(self, key: str, value: str = "1") -> bool:
        """Store ``key`` if absent; True when this call stored it."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...

    async def put_many(self, items: dict[str, str]) -> None:
        """Store every key in one pipeline (a batch of deliveries marked handled)."""
        ...

    async def forget(self, key: str) -> None: ...


class TelegramApi(Protocol):
    async def send_message(
        self, chat_id: str, text: str, *, reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Send an HTML message; return its message_id."""
        ...

    async def edit_message(
        self, chat_id: str, message_id: int, text: str, *, reply_markup: dict[str, Any] | None = None
    ) -> None:
        """Edit in place; "message is not modified" counts as success. No markup drops the buttons."""
        ...

    async def answer_callback_query(self, callback_query_id: str, text: str, *, show_alert: bool = False) -> None:
        """Stop the button's spinner on the tapper's screen, with a short note (<= 200 chars)."""
        ...

    async def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str]) -> None: ...

    async def get_me(self) -> dict[str, object]: ...

    async def get_chat_member(self, chat_id: str, user_id: int) -> dict[str, object]: ...


class SentryApi(Protocol):
    async def post_comment(self, org: str, issue_id: str, text: str) -> str:
        """Post a comment; return "posted" or "already_posted"."""
        ...


class IncidentRepository(Protocol):
    """The operator-visible incident record (one hash per incident id)."""

    async def save(self, fields: dict[str, str], incident_id: str) -> None: ...

    async def get(self, incident_id: str) -> dict[str, str]: ...


class OccurrenceLog(Protocol):
    """Occurrences kept for the learning service (issue: learning, seed phase G)."""

    async def append(self, anomaly_key: str, record_id: str, record: dict[str, object]) -> bool:
        """Append once per ``record_id``; True when this call appended it."""
        ...

    async def recent(self, anomaly_key: str, limit: int = 100) -> list[dict[str, object]]: ...


class DeliverySpool(Protocol):
    """Deliveries taken while Temporal was slow or down, in arrival order, until they are started.

    ``push`` returns only once the entry is durable (fsynced), or raises ``UpstreamError``. Shared by
    every API replica: one drainer at a time holds the lease and starts entries oldest first."""

    async def push(self, item: SpooledDelivery) -> str: ...

    async def push_many(self, items: list[SpooledDelivery]) -> list[str]:
        """Push a batch in order with one fsync for all of it."""
        ...

    async def depth(self) -> int: ...

    async def oldest(self, limit: int) -> list[tuple[str, SpooledDelivery]]: ...

    async def remove(self, entry_id: str) -> None: ...

    async def remove_many(self, entry_ids: list[str]) -> None: ...

    async def stats(self) -> SpoolStats: ...

    async def acquire_lease(self, owner: str, ttl_seconds: float) -> bool:
        """Take or extend the drain lease; True while ``owner`` holds it."""
        ...

    async def release_lease(self, owner: str) -> None: ...
