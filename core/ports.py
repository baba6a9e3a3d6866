"""Ports: the Protocols activities depend on. Adapters in ``activities/`` implement them.

Activities hold a port, never a Redis or HTTP client directly, so each adapter can be exercised
against its real server (Valkey, a loopback Telegram/Sentry) and swapped without touching the
workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from core.chat import ChatMessage, MessageKey
from core.learning import LearningSummary
from core.models import Alert, Analysis, Frequency, IncidentView, SpooledDelivery, SpoolStats
from core.postmortem_button import Claim
from core.repair import RepairRequest, RepairResult, RepairState
from core.silences import Silence


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


class IdempotencyLedger(Protocol):
    """What has already happened, so a retry or a repeat does not do it twice: deliveries handled,
    repair results, Sentry comments, chat updates taken, approval buttons and their workflows."""

    async def delivery_handled(self, delivery_id: str) -> bool: ...

    async def deliveries_handled(self, delivery_ids: list[str]) -> list[bool]:
        """``delivery_handled`` for a batch, in one round trip."""
        ...

    async def mark_handled(self, delivery_ids: list[str], incident_id: str) -> None:
        """Every delivery of a batch marked handled by ``incident_id``, in one round trip."""
        ...

    async def repair_result(self, repair_id: str) -> str | None:
        """The stored RepairResult JSON of a repair that already ran."""
        ...

    async def keep_repair_result(self, repair_id: str, result_json: str) -> None: ...

    async def scale_pin(self, repair_id: str) -> str | None:
        """The replica count a scale repair chose, pinned before it ran."""
        ...

    async def pin_scale(self, repair_id: str, replicas: str) -> None: ...

    async def comment(self, comment_key: str) -> str | None:
        """How a Sentry comment already ended ("posted" / "already_posted")."""
        ...

    async def keep_comment(self, comment_key: str, outcome: str) -> None: ...

    async def register_approval(self, token: str, workflow_id: str) -> None:
        """An Approve/Reject button's token and the incident workflow it decides for."""
        ...

    async def approval(self, token: str) -> str | None: ...

    async def first_update(self, update_id: str) -> bool:
        """True the first time a chat update (a button tap) is taken; False for its re-sends."""
        ...

    async def first_observation(self, once_key: str) -> bool:
        """True the first time an incident metric is observed under ``once_key``; False after."""
        ...

    async def forget_update(self, update_id: str) -> None: ...


class MessageRefs(Protocol):
    """Where awoooi's messages are in the chat: the reference each :class:`MessageKey` got."""

    async def get(self, key: MessageKey) -> str | None: ...

    async def put(self, key: MessageKey, ref: str) -> None: ...


class ChatChannel(Protocol):
    """A chat awoooi talks in (Telegram today; docs/adr/0021-chat-port.md). Message references are
    strings. Errors are ``core.errors``: RateLimited, MessageGone, UpstreamError(retryable)."""

    name: str

    async def send(self, chat: str, message: ChatMessage, *, reply_to: str | None = None) -> str:
        """Post a message (a card, a digest, an escalation replying to a card); its reference."""
        ...

    async def edit(self, chat: str, ref: str, message: ChatMessage) -> None:
        """Edit in place: an unchanged text is success, a message without buttons loses them;
        raises MessageGone when it was deleted."""
        ...

    async def answer(self, tap: str, text: str, *, alert: bool = False) -> None:
        """Answer a button tap: stop its spinner with a short note (a popup when ``alert``)."""
        ...

    async def send_direct(self, user: str, message: ChatMessage) -> str:
        """A message to one person rather than a chat."""
        ...

    async def check(self, chats: list[str]) -> None:
        """Whether awoooi may post in these chats, asked without posting (raises UpstreamError)."""
        ...

    async def whoami(self) -> str:
        """The name awoooi has in this chat app (its bot's username), asked of the app."""
        ...


class CardRenderer(Protocol):
    """How one chat words what awoooi shows (Telegram: HTML and inline keyboards): pure, so a retried
    call renders the same text and the chat answers "not modified"."""

    def card(self, view: IncidentView, repair: RepairState | None, *, may_repeat: bool = False) -> ChatMessage: ...

    def escalation(self, view: IncidentView, reason: str, *, may_repeat: bool = False) -> ChatMessage: ...

    def renotify(self, view: IncidentView, unacked_seconds: float, *, escalation: bool = False,
                 may_repeat: bool = False) -> ChatMessage:
        """A reminder that nobody acknowledged the incident yet (docs/adr/0025)."""
        ...

    def digest_line(self, view: IncidentView, *, max_bytes: int) -> str: ...

    def digest(self, lines: list[str], *, may_repeat: bool = False) -> ChatMessage: ...

    def notice(self, title: str, lines: list[str], footer: str = "") -> ChatMessage:
        """A plain notice outside any card (the probe's outage and recovery messages)."""
        ...


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

    async def oldest(self, limit: int, after: str | None = None) -> list[tuple[str, SpooledDelivery]]:
        """Up to ``limit`` entries in arrival order, from the first or from the one after ``after``."""
        ...

    async def remove(self, entry_id: str) -> None: ...

    async def remove_many(self, entry_ids: list[str]) -> None: ...

    async def stats(self) -> SpoolStats: ...

    async def acquire_lease(self, owner: str, ttl_seconds: float) -> bool:
        """Take or extend the drain lease; True while ``owner`` holds it."""
        ...

    async def release_lease(self, owner: str) -> None: ...


class SilenceRepository(Protocol):
    """Silences by id (activities/valkey/silences.py, docs/adr/0024-where-silences-live.md)."""

    async def live(self, now: datetime) -> list[Silence]:
        """Every silence not expired at ``now`` (active and pending)."""
        ...

    async def all(self) -> list[Silence]: ...

    async def get(self, silence_id: str) -> Silence | None: ...

    async def put(self, silences: list[Silence], now: datetime) -> None: ...

    async def edit(self, silence_id: str,
                   decide: Callable[[Silence | None], list[Silence] | Awaitable[list[Silence]]],
                   now: datetime) -> list[Silence]:
        """Read the silence, write what ``decide`` returns unless it changed meanwhile (then again)."""
        ...

    async def watch(self, silence_ids: list[str], workflow_id: str, until: datetime) -> None:
        """Remember that these silences silence ``workflow_id``."""
        ...

    async def watchers(self, silence_id: str) -> list[str]: ...

    async def remember_button(self, token: str, workflow_id: str) -> None:
        """A card's Silence buttons name ``workflow_id`` by ``token``."""
        ...

    async def button(self, token: str) -> str | None:
        """The workflow a Silence button's token names, None when unknown (or long gone)."""
        ...


class DocumentChannel(Protocol):
    """A chat that takes a file (the resolved card's Postmortem document; Telegram's sendDocument)."""

    async def send_document(self, chat: str, filename: str, content: bytes, *, caption: str = "",
                            reply_to: str | None = None) -> str:
        """Upload ``content`` as a file named ``filename``; the new message's reference."""
        ...


class PostmortemMarks(Protocol):
    """The Postmortem button's once-marks (activities/valkey/postmortems.py): claim before sending,
    mark sent after the chat took it, release when the chat refused it."""

    async def claim(self, token: str) -> Claim: ...

    async def sent(self, token: str, message_id: str) -> None: ...

    async def release(self, token: str) -> None: ...
