"""What a repair is: the request an executor receives, the result it reports, and where it aims.

The workflow builds a :class:`RepairRequest` deterministically (its ``repair_id`` is the
idempotency key every executor and the ledger use), an executor behind ``core.ports.RepairExecutor``
carries it out or simulates it, and reports a :class:`RepairResult` that says honestly what happened.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from core.learning import SmartRecommendation
from core.models import Alert, RepairAction

# A pod of a Deployment is named <deployment>-<replicaset hash>-<5 chars>.
_DEPLOYMENT_POD = re.compile(r"^(?P<deployment>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-[a-z0-9]{5,10}-[a-z0-9]{5}$")

# Actions that change nothing and only bring people in (tier 4).
HUMAN_ACTIONS = frozenset(
    {RepairAction.CREATE_ISSUE, RepairAction.NOTIFY_TEAM, RepairAction.SCHEDULE_FIX,
     RepairAction.MANUAL_INTERVENTION}
)


class RepairTarget(BaseModel):
    """Where a repair aims, read from the alert's labels (kube-state-metrics / cAdvisor names)."""

    namespace: str | None = None
    pod: str | None = None
    deployment: str | None = None
    container: str | None = None

    @classmethod
    def from_alert(cls, alert: Alert) -> RepairTarget:
        labels = alert.labels
        pod = labels.get("pod") or labels.get("pod_name") or None
        deployment = labels.get("deployment") or None
        if deployment is None and pod:
            match = _DEPLOYMENT_POD.match(pod)
            if match:
                deployment = match.group("deployment")
        return cls(
            namespace=labels.get("namespace") or labels.get("k8s_namespace_name") or None,
            pod=pod,
            deployment=deployment,
            container=labels.get("container") or None,
        )

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump().items() if v]
        return ", ".join(parts) or "no target labels"


class RepairRequest(BaseModel):
    repair_id: str = Field(min_length=1)
    incident_id: str
    anomaly_key: str
    action: RepairAction
    tier: int = Field(ge=1, le=4)
    target: RepairTarget
    alert_title: str
    requested_by: str  # "auto" or the approver's name
    requested_at: datetime
    reason: str = ""


class RepairStatus(StrEnum):
    EXECUTED = "executed"  # the change was made
    SIMULATED = "simulated"  # dry-run: recorded what would be done, changed nothing
    FAILED = "failed"  # the executor tried and the target refused
    UNSUPPORTED = "unsupported"  # this executor cannot do this action (or has no target for it)
    REFUSED = "refused"  # the repair budget of the anomaly key was spent: nothing was run
    UNKNOWN = "unknown"  # the executor never answered: whether anything changed is not known


class RepairResult(BaseModel):
    repair_id: str
    action: RepairAction
    executor: str
    status: RepairStatus
    detail: str = ""
    # What was done (or would be), one human-readable line per operation, e.g.
    # "PATCH apps/v1 deployments default/api restartedAt=2026-11-25T10:00:00Z".
    operations: list[str] = Field(default_factory=list)
    execution_seconds: float = 0.0
    # When the executor answered (the worker's clock): the verify window runs from here.
    finished_at: datetime | None = None


class RepairPolicy(BaseModel):
    """The settings the workflow needs to decide about a repair; given at start by the intake."""

    auto_repair_confidence: float = 0.8
    approval_timeout_seconds: float = 1800.0
    verify_window_seconds: float = 600.0


class RepairPhase(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"  # decided (auto or approved); the executor is being called
    VERIFYING = "verifying"  # executed; waiting for the alert to resolve within the verify window
    SUCCEEDED = "succeeded"  # resolved within the window
    FAILED = "failed"  # executed but not resolved in time, or the executor failed
    SIMULATED = "simulated"  # dry-run: what would have run is on the card, nothing changed
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"  # no decision within the approval timeout: escalated, nothing repaired
    NOT_NEEDED = "not_needed"  # the alert resolved before anyone decided
    ESCALATED = "escalated"  # nothing could be run (budget spent, action blocked, unsupported)
    MANUAL = "manual"  # tier 4: people were notified, nothing changes

    @property
    def open(self) -> bool:
        return self in (RepairPhase.AWAITING_APPROVAL, RepairPhase.VERIFYING)


class Decision(BaseModel):
    """A human's answer to an approval request (the ``decide`` update's input)."""

    approve: bool
    by: str = Field(min_length=1, max_length=100)  # a name for the card: "@alice", "bob (api)"
    by_id: str | None = None  # the Telegram user id, when the tap came from Telegram
    via: Literal["telegram", "api", "cli"]
    at: datetime
    # The token of the button that was tapped; None from the API/CLI (= the pending request).
    approval_token: str | None = None
    note: str = Field(default="", max_length=500)


class DecisionAnswer(BaseModel):
    accepted: bool
    message: str


class RepairState(BaseModel):
    """Where the incident's repair stands; shown on the card, carried across continue-as-new."""

    repair_id: str
    plan: SmartRecommendation
    phase: RepairPhase
    mode: Literal["auto", "approval", "manual"]
    target: RepairTarget
    approval_token: str | None = None
    requested_at: datetime
    deadline: datetime | None = None  # of the approval (awaiting) or the verification (verifying)
    decision: Decision | None = None
    result: RepairResult | None = None
    executed_at: datetime | None = None
    finished_at: datetime | None = None
    note: str = ""  # why it ended the way it did, in one sentence


# Approve/Reject buttons carry "rp:a:<token>" / "rp:r:<token>" (Telegram allows 64 bytes).
_CALLBACK_PREFIX = "rp"


def callback_data(approve: bool, token: str) -> str:
    return f"{_CALLBACK_PREFIX}:{'a' if approve else 'r'}:{token}"


def parse_callback_data(data: str) -> tuple[bool, str] | None:
    """(approve?, token) for one of our buttons, None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != _CALLBACK_PREFIX or parts[1] not in ("a", "r") or not parts[2]:
        return None
    return parts[1] == "a", parts[2]
