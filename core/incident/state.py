"""What generation 2 of the incident workflow knows, starts from and ends with.

Plain pydantic models: the workflow carries them across continue-as-new and the Web UI shows them,
so a field may be added with a default, never renamed or removed (tests/test_replay.py).
Message references are strings whatever the chat (a Telegram message id, a Slack ``ts``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.models import Alert, AlertDelivery, IncidentView
from core.repair import RepairPolicy, RepairState

# How many recent delivery and occurrence ids an incident remembers to drop a sender's repeat.
SEEN_WINDOW = 200


class IncidentSettings(BaseModel):
    """What the worker decides about its incidents, read from its own environment at the start of
    every run (the ``incident_settings`` local activity), so no API process decides it."""

    idle_timeout_seconds: float = 24 * 3600.0
    resolve_grace_seconds: float = 300.0
    # Continue as new after this many deliveries, well before history limits.
    max_deliveries_per_run: int = 500
    policy: RepairPolicy = Field(default_factory=RepairPolicy)
    # The analyze activity's start-to-close: long enough for the LLM's own bounded timeout.
    analysis_timeout_seconds: float = 60.0
    # A count-only change edits the card at most this often (state changes go at once)...
    card_edit_interval_seconds: float = 10.0
    # ...and only while the card made fewer than card_budget_calls first-show and count calls within
    # card_budget_window_seconds (0 calls: no budget).
    card_budget_calls: int = 2
    card_budget_window_seconds: float = 60.0
    # The quick Valkey steps and, without an LLM, the rule analysis run as local activities.
    local_steps: bool = True
    llm_enabled: bool = False
    # An open incident shown as a digest line asks for its own card again after this long (doubling).
    digest_window_seconds: float = 60.0
    # -- silenced incidents (core/incident/silencing.py, docs/adr/0029) --
    # Off by default: a recorded history's settings lack it, so its replay asks no verdict.
    silences: bool = False
    # A silenced incident asks again at its silence's end or after this long, whichever is first
    # (an early expiry whose signal was lost is noticed within it).
    silence_recheck_seconds: float = 900.0

    # -- acks, re-notification and escalation (issue 20, helper "acks", docs/adr/0025) -------
    # Off by default: a recorded run's settings lack these fields, so it replays the same commands.
    # Record acks: the Ack button on the card, the ``ack`` update, the Acked search attribute.
    acks: bool = False
    # Per severity, the waits (seconds) between re-notifications of an open unacknowledged incident
    # (the last wait repeats); a severity not listed is never re-notified. Only with ``acks``.
    renotify_seconds: dict[str, list[float]] = Field(default_factory=dict)
    # Per severity, how long unacknowledged before it is also posted to the escalation chat (once).
    escalate_after_seconds: dict[str, float] = Field(default_factory=dict)
    # MTTA, MTTR and repair outcomes observed once each through the ``observe_incident`` activity.
    metrics: bool = False

    # -- flapping (issue 20, helper "flapping", core/incident/flapping.py, docs/adr/0031) -------
    # Off by default (0): a recorded run's settings lack it, so it replays the same commands. More
    # than flap_count re-fires after a resolution within flap_window_seconds mark it flapping.
    flap_count: int = 0
    flap_window_seconds: float = 3600.0
    # A re-fire after the resolve grace has passed starts a new lifecycle (its own card) even when
    # the run has not ended yet (it was finishing a call, or stays to count flaps). Off: re-opens.
    new_lifecycle_after_grace: bool = False


class IncidentState(IncidentView):
    """The incident as the workflow keeps it: the view it shows, plus its bookkeeping."""

    lifecycle_id: str
    # An alert-chain probe's incident: no learning, repair or Sentry comment, cards to the probe chat.
    probe: bool = False
    # Its own card in the chat, and the digest message holding its line while it has none (the
    # chat's message references: a Telegram message id as a string).
    message_id: str | None = None
    digest_message_id: str | None = None
    sentry_comment: str | None = None
    seen_deliveries: list[str] = Field(default_factory=list)
    seen_occurrences: list[str] = Field(default_factory=list)
    # Deliveries handled in this run (decides when to continue as new).
    handled: int = 0
    # When a delivery or a decision last reached it: idle expiry runs from here.
    active_at: datetime
    # When its resolution was handled: the resolve grace runs from here.
    resolved_handled_at: datetime | None = None
    repair: RepairState | None = None
    # A count-only change the card does not show yet; when the card was last called; the latest
    # budgeted calls (card_budget_calls + 1 at most).
    card_dirty: bool = False
    card_edited_at: datetime | None = None
    card_calls: list[datetime] = Field(default_factory=list)
    # Digest: when it last asked for its own card, and how often it asked and stayed a line.
    own_asked_at: datetime | None = None
    reasks: int = 0
    # -- acks, re-notification and escalation (docs/adr/0025) --------------------------------
    # When this lifecycle opened (MTTA and MTTR count from here); since when it has been open and
    # unacknowledged: re-notification and escalation count from here
    # (a re-open restarts it). How many re-notifications went out this lifecycle, and the last one.
    opened_at: datetime | None = None
    unacked_since: datetime | None = None
    renotified: int = 0
    renotified_at: datetime | None = None
    escalated: bool = False
    # Metrics already observed this lifecycle ("ack", "resolve"): each is asked for once.
    observed: list[str] = Field(default_factory=list)
    # -- silenced incidents (core/incident/silencing.py); silenced, silenced_until, silenced_by and
    # silence_token are the view's (IncidentView), so the card and the record show them --
    # When the verdict is asked again (its end, or sooner: silence_recheck_seconds).
    silence_check_at: datetime | None = None
    # Its first card (and the repair plan, the Sentry comment) wait for the silence to end.
    first_words_held: bool = False
    # The "Mute until resolved" silence, expired when the incident resolves.
    mute_silence_id: str | None = None
    # -- flapping (core/incident/flapping.py); flapping, flap_window_seconds and stable_again are the
    # view's. When it fired again after a resolution, within the flap window (across lifecycles of
    # this run); when the card last showed it while flapping (edits wait a window after it).
    refires: list[datetime] = Field(default_factory=list)
    flap_shown_at: datetime | None = None

    def view(self) -> IncidentView:
        return IncidentView.model_validate(self.model_dump(include=set(IncidentView.model_fields)))

    @property
    def card_key(self) -> str:
        """Names this lifecycle's card in the chat's idempotency ledger."""
        return f"{self.incident_id}:{self.lifecycle_id}"


class Carried(BaseModel):
    """What one run hands the next at continue-as-new."""

    state: IncidentState
    # Deliveries signalled but not yet handled.
    pending: list[AlertDelivery] = Field(default_factory=list)


class IncidentStart(BaseModel):
    """The workflow's input: the alert first, so the Web UI opens on it."""

    alert: Alert
    incident_id: str
    anomaly_key: str
    carried: Carried | None = None


class IncidentOutcome(BaseModel):
    incident_id: str
    # resolved / expired / duplicate (a resolution of an incident that had already ended) / empty
    status: str
    occurrences: int = 0
    message_id: str | None = None
