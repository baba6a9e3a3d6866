"""The learning service's vocabulary (seed phase G): repair records and what is learned from them.

The formulas and thresholds live here as named constants so the tests, the API and the docs quote
one source. The logic is ``core.learning_service.LearningService``; storage is behind
:class:`LearningRepository` (Redis implementation: ``activities.valkey.learning``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field, computed_field

from core.models import RepairAction

MIN_SAMPLES = 5  # an action is recommended only with at least this many recorded results
SUCCESS_RATE_THRESHOLD = 0.6  # ... and at least this success rate
TIMING_WINDOW = 20  # average execution time over this many most recent records
RECORDS_KEPT = 100  # per anomaly key and action
RECORD_TTL_DAYS = 90
PLAYBOOK_MIN_SAMPLES = 5
PLAYBOOK_MIN_SUCCESS_RATE = 0.8
BEST_ACTION_MIN_SAMPLES = 3
SMART_CONFIDENCE = 0.8  # at or above, the learning answer stands alone
FAILURE_STREAK_BLOCK = 2  # failed this many times in a row for a key: not recommended again there
DEFAULT_ACTION = RepairAction.RESTART_POD
DEFAULT_CONFIDENCE = 0.3
DEFAULT_ALTERNATIVE = RepairAction.DELETE_POD

SummaryStatus = Literal["insufficient", "learning", "sufficient", "excellent"]


class RepairRecord(BaseModel):
    """One repair and whether it worked (verified by the alert resolving in the verify window)."""

    repair_id: str
    incident_id: str
    anomaly_key: str
    action: RepairAction
    success: bool
    execution_seconds: float = 0.0
    time_to_resolve_seconds: float | None = None
    executor: str
    decided_by: str = "auto"
    root_cause: str = ""
    at: datetime


class ActionStats(BaseModel):
    action: RepairAction
    total: int = 0
    successes: int = 0

    @property
    def success_rate(self) -> float:
        return self.successes / self.total if self.total else 0.0


class Alternative(BaseModel):
    action: RepairAction
    confidence: float
    tier: int
    based_on: int


class FixRecommendation(BaseModel):
    """``get_recommended_fix``: the best qualifying action, or the default when none qualifies."""

    anomaly_key: str
    action: RepairAction
    confidence: float
    tier: int
    based_on: int
    avg_execution_seconds: float | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    source: Literal["learning", "analysis", "default"]


class Playbook(BaseModel):
    anomaly_key: str
    root_cause: str
    action: RepairAction
    description: str
    success_rate: float
    executions: int
    source: str = "auto_learning"
    updated_at: datetime


class LearningSummary(BaseModel):
    anomaly_key: str
    occurrences: int
    repair_attempts: int
    success_rate: float
    actions_tried: list[ActionStats] = Field(default_factory=list)
    best_action: RepairAction | None = None
    status: SummaryStatus
    blocked_actions: list[RepairAction] = Field(default_factory=list)

    # The seed's get_learning_summary names, so clients written against the seed keep working.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_occurrences(self) -> int:
        return self.occurrences

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_repair_attempts(self) -> int:
        return self.repair_attempts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall_success_rate(self) -> float:
        return self.success_rate

    @computed_field  # type: ignore[prop-decorator]
    @property
    def learning_status(self) -> SummaryStatus:
        return self.status


class SmartRecommendation(BaseModel):
    """What to do about an anomaly, and where each part of the answer came from.

    ``source`` is "learning" when learning alone is sure enough (confidence >= SMART_CONFIDENCE),
    "analysis" when learning knows nothing usable, "merged" otherwise; ``sources`` names the origin
    of each field ("learning" or "analysis").
    """

    anomaly_key: str
    action: RepairAction
    tier: int
    confidence: float
    based_on: int = 0
    avg_execution_seconds: float | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    root_cause: str = ""
    fix_suggestion: str = ""
    source: Literal["learning", "analysis", "merged"]
    sources: dict[str, Literal["learning", "analysis"]] = Field(default_factory=dict)
    # Actions that failed FAILURE_STREAK_BLOCK times in a row for this key (never recommended).
    blocked_actions: list[RepairAction] = Field(default_factory=list)
    # True when the only candidate left is blocked: repair nothing, escalate.
    escalate: bool = False


class RecordOutcome(BaseModel):
    """What ``record_repair_result`` did."""

    recorded: bool  # False when this repair_id was already recorded (a retried activity)
    playbook_updated: bool = False
    blocked: bool = False  # this action has now failed FAILURE_STREAK_BLOCK times in a row here


class LearningRepository(Protocol):
    """Storage of repair records, per-action totals, failure streaks and playbooks.

    Every write is idempotent per ``repair_id``: an activity retried after a timeout records once.
    """

    async def add_repair_result(self, record: RepairRecord) -> bool:
        """Keep the record (newest first, last RECORDS_KEPT, RECORD_TTL_DAYS) and update the totals
        and successes of its action; track the action's failure streak for the key (a success of
        the action anywhere clears its streaks everywhere). True when this call recorded it."""
        ...

    async def action_stats(self, anomaly_key: str) -> list[ActionStats]: ...

    async def recent_records(self, anomaly_key: str, action: RepairAction, limit: int) -> list[RepairRecord]: ...

    async def failure_streaks(self, anomaly_key: str) -> dict[RepairAction, int]: ...

    async def occurrences(self, anomaly_key: str) -> int:
        """How often the anomaly has been seen (the anomaly counter's count)."""
        ...

    async def get_playbook(self, anomaly_key: str) -> Playbook | None: ...

    async def save_playbook(self, playbook: Playbook) -> None: ...

    async def playbooks(self) -> list[Playbook]: ...
