"""One input model per workflow and activity.

Temporal records these in history; adding a field with a default is safe, renaming or removing
one is not (replay tests in tests/test_replay.py catch that).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.learning import RepairRecord, SmartRecommendation
from core.models import AlertDelivery, Alert, Analysis, IncidentStatus, IncidentView
from core.repair import RepairPolicy, RepairRequest, RepairState, RepairTarget


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


class AnalyzeInput(BaseModel):
    alert: Alert
    anomaly_key: str


class DeliverySeenInput(BaseModel):
    delivery_id: str


class SaveIncidentInput(BaseModel):
    """Create or aggregate the incident record and count the occurrence (phases A and C)."""

    view: IncidentView
    workflow_id: str
    lifecycle_id: str
    delivery_id: str
    count_occurrence: bool
    at: datetime


class SaveBatchInput(BaseModel):
    """storm-v1: a batch of deliveries folded into one save: counted ones (INCRBY N in one script)
    and merely seen ones (re-sent firings), all marked handled in the ledger in one pipeline."""

    view: IncidentView
    workflow_id: str
    lifecycle_id: str
    counted: list[str] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    at: datetime


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


class SentryCommentInput(BaseModel):
    view: IncidentView
    comment_key: str
    at: datetime


class LearningRecordInput(BaseModel):
    incident_id: str
    anomaly_key: str
    delivery_id: str
    status: IncidentStatus
    analysis: Analysis
    occurrences: int
    at: datetime


class RecommendInput(BaseModel):
    incident_id: str
    workflow_id: str
    anomaly_key: str
    analysis: Analysis
    target: RepairTarget
    alert_title: str
    # Registered for the Approve/Reject buttons in the same step when approval may be needed
    # (callback_data holds only this token: Telegram allows 64 bytes, a workflow id can be longer).
    approval_token: str


class RepairPlanAnswer(BaseModel):
    recommendation: SmartRecommendation
    # Why the configured executor cannot carry the recommendation out (None: it can).
    cannot_run: str | None = None
    # Whether the approval token was registered, i.e. whether buttons can work.
    registered: bool = False


class BudgetInput(BaseModel):
    anomaly_key: str
    at: datetime


class BudgetStatus(BaseModel):
    allowed: bool
    last_hour: int
    last_day: int
    max_per_hour: int
    max_per_day: int

    def describe(self) -> str:
        return (f"{self.last_hour}/{self.max_per_hour} repairs in the last hour, "
                f"{self.last_day}/{self.max_per_day} in the last day")


class ExecuteRepairInput(BaseModel):
    request: RepairRequest


class RecordRepairInput(BaseModel):
    record: RepairRecord


class EscalateInput(BaseModel):
    """One escalation message in the chat, replying to the card; sent once per ``escalation_key``."""

    view: IncidentView
    escalation_key: str
    reason: str
    reply_to: int | None = None
