"""One input model per workflow and activity.

Temporal records these in history; adding a field with a default is safe, renaming or removing
one is not (replay tests in tests/test_replay.py catch that). Generation 1's own shapes (integer
message ids, its workflow input and state) are frozen in core/legacy_inputs.py.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.learning import RepairRecord, SmartRecommendation
from core.models import Alert, Analysis, IncidentStatus, IncidentView
from core.repair import RepairRequest, RepairState, RepairTarget


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


class PlaceCardInput(BaseModel):
    """Show the incident in its chat: its own card, or its line in the chat's storm digest
    (docs/adr/0016-digest-cards.md). Placed again, the same ``card_key`` updates the same line."""

    view: IncidentView
    # "{incident_id}:{lifecycle_id}": the idempotency key of its own card.
    card_key: str
    # Shown on the card; Approve/Reject buttons while it awaits approval.
    repair: RepairState | None = None
    # Probe cards go to the probe chat and are never digested.
    probe: bool = False
    # The workflow would like its own card now (first placement, a state change); in a storm the
    # incident's digest line is updated instead.
    own_card: bool = True
    # On demand: its own card whatever the storm.
    force_own: bool = False
    # It is a digest line already (not a new incident): asking again does not count towards the
    # storm, and is granted at most the threshold's worth of cards per window.
    reask: bool = False


class CardPlacement(BaseModel):
    """Where the incident is shown: its own card, or the digest message holding its line (message
    references as the chat names them, e.g. a Telegram message id as a string; generation 1 reads
    them back as integers)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    message_id: str | None = None
    digest_message_id: str | None = None


class EditCardInput(BaseModel):
    # Generation 1 sends its integer Telegram message ids: the same reference, as a string.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    view: IncidentView
    message_id: str
    # Lets the activity send a replacement card, once, when someone deleted the message.
    card_key: str = ""
    repair: RepairState | None = None
    probe: bool = False
    # Only counts changed: when the chat's pacing cannot admit it soon it is skipped (ApplicationError
    # type "Paced") and the workflow tries again at its next interval.
    best_effort: bool = False


class EscalateInput(BaseModel):
    """One escalation message in the chat, replying to the card; sent once per ``escalation_key``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    view: IncidentView
    escalation_key: str
    reason: str
    reply_to: str | None = None


class RenotifyInput(BaseModel):
    """A re-notification of an unacknowledged incident (a short reply to its card) or its escalation
    to the escalation chat; sent once per ``notify_key`` (docs/adr/0025)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    view: IncidentView
    # "{incident_id}:{lifecycle_id}:renotify:{n}" or "...:escalation".
    notify_key: str
    # Which re-notification this is (1, 2, ...); 0 for the escalation.
    n: int = 0
    escalation: bool = False
    reply_to: str | None = None
    # How long it has been open and unacknowledged, for the message.
    unacked_seconds: float = 0.0


class ObserveInput(BaseModel):
    """One observation of an incident metric, made once per ``once_key`` whatever retries or replays."""

    once_key: str
    # time_to_acknowledge / time_to_resolve (histograms) or repair_outcome (a counter).
    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    value: float = 1.0
