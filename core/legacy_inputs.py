"""Generation 1's workflow and card models, frozen with it (workflows/legacy/).

Open runs of the ``IncidentWorkflow`` type carry these shapes in their histories and in their
continue-as-new input, and the four card activities they call (``post_card``, ``place_card``,
``edit_card``, ``escalate``) answer in them (integer Telegram message ids). Generation 2 has its own
models in core/inputs.py. Never edit a field here; this module goes when generation 1 is retired
(docs/adr/0019-incident-workflow-generations.md).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.models import AlertDelivery, IncidentView
from core.repair import RepairPolicy, RepairState


class IncidentState(IncidentView):
    """What the incident workflow knows: the view it shows, plus its bookkeeping.

    Carried across continue-as-new.
    """

    lifecycle_id: str
    message_id: int | None = None
    sentry_comment: str | None = None
    # Recent delivery ids, to drop a sender's retry that reaches us twice. Bounded.
    seen_deliveries: list[str] = Field(default_factory=list)
    # Firings already counted (fingerprint + startsAt), so their re-sends are not counted again. Bounded.
    seen_occurrences: list[str] = Field(default_factory=list)
    handled: int = 0
    repair: RepairState | None = None
    # storm-v1: a count-only change edits the card at most every card_edit_interval_seconds.
    card_dirty: bool = False
    card_edited_at: datetime | None = None
    # card-budget-v1: when the latest first-show and count calls went (card_budget_calls + 1 at most).
    card_calls: list[datetime] = Field(default_factory=list)
    # digest-v1: the digest message holding this incident's line while it has no card of its own.
    digest_message_id: int | None = None
    # digest-v1: when it last asked for its own card (an open digested incident asks again later).
    own_asked_at: datetime | None = None
    # digest-v1: how often it asked again and stayed a line (each doubles the next wait, up to 16x).
    reasks: int = 0

    def view(self) -> IncidentView:
        return IncidentView.model_validate(self.model_dump(include=set(IncidentView.model_fields)))


class IncidentWorkflowInput(BaseModel):
    incident_id: str
    anomaly_key: str
    idle_timeout_seconds: int = 24 * 3600
    resolve_grace_seconds: int = 300
    # Continue as new after this many deliveries, well before history limits.
    max_deliveries_per_run: int = 500
    state: IncidentState | None = None
    # Deliveries signalled but not yet handled when the run continued as new.
    pending: list[AlertDelivery] = Field(default_factory=list)
    policy: RepairPolicy = Field(default_factory=RepairPolicy)
    # The analyze activity's start-to-close: long enough for the LLM's own bounded timeout.
    analysis_timeout_seconds: float = 60.0
    # storm-v1: a count-only change edits the card at most this often (state changes go at once).
    card_edit_interval_seconds: float = 10.0
    # card-budget-v1: a count-only change waits until the card made fewer than card_budget_calls calls
    # within the last card_budget_window_seconds (AWOOOI_CARD_BUDGET_CALLS / _WINDOW; 0 calls: no budget,
    # as for runs started by an API that predates it).
    card_budget_calls: int = 0
    card_budget_window_seconds: float = 60.0
    # storm-v1: the quick Valkey steps (save, record) and, without an LLM, the rule analysis run as
    # local activities (AWOOOI_LOCAL_STEPS; docs/adr/0003-local-activities.md).
    local_steps: bool = False
    llm_enabled: bool = False
    # digest-v1: an open incident shown as a digest line asks for its own card again after this long
    # (the storm window, AWOOOI_DIGEST_WINDOW_SECONDS).
    digest_window_seconds: float = 60.0


class IncidentOutcome(BaseModel):
    incident_id: str
    status: str
    occurrences: int = 0
    message_id: int | None = None


class CardInput(BaseModel):
    view: IncidentView
    card_key: str
    # Shown on the card; Approve/Reject buttons while it awaits approval.
    repair: RepairState | None = None
    # An alert-chain probe's card: to the probe chat, or not sent at all.
    probe: bool = False


class PlaceCardInput(BaseModel):
    """Show the incident in its chat: its own card, or its line in the chat's storm digest
    (docs/adr/0016-digest-cards.md). Placed again, the same ``card_key`` updates the same line."""

    view: IncidentView
    # "{incident_id}:{lifecycle_id}", as for post_card: the ledger key of the own card.
    card_key: str
    repair: RepairState | None = None
    # Probe cards go to the probe chat and are never digested.
    probe: bool = False
    # The workflow would like its own card now (first placement, a state change); in a storm the
    # incident's digest line is updated instead.
    own_card: bool = True
    # On demand: its own card whatever the storm.
    force_own: bool = False
    # digest-v1: it is a digest line already (not a new incident): asking again does not count
    # towards the storm, and is granted at most the threshold's worth of cards per window.
    reask: bool = False


class CardPlacement(BaseModel):
    """Where the incident is shown: its own card, or the digest message holding its line."""

    message_id: int | None = None
    digest_message_id: int | None = None


class EditCardInput(BaseModel):
    view: IncidentView
    message_id: int
    # Lets the activity send a replacement card, once, when someone deleted the message.
    card_key: str = ""
    repair: RepairState | None = None
    probe: bool = False
    # storm-v1: only counts changed; when Telegram's pacing cannot admit it soon it is skipped
    # (ApplicationError type "Paced") and the workflow tries again at its next interval.
    best_effort: bool = False


class EscalateInput(BaseModel):
    """One escalation message in the chat, replying to the card; sent once per ``escalation_key``."""

    view: IncidentView
    escalation_key: str
    reason: str
    reply_to: int | None = None
