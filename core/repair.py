"""What a repair is: the request an executor receives, the result it reports, and where it aims.

The workflow builds a :class:`RepairRequest` deterministically (its ``repair_id`` is the
idempotency key every executor and the ledger use), an executor behind ``core.ports.RepairExecutor``
carries it out or simulates it, and reports a :class:`RepairResult` that says honestly what happened.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

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
    NOTIFIED = "notified"  # tier 4: people were told, nothing changed


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

    @property
    def changed_something(self) -> bool:
        return self.status is RepairStatus.EXECUTED
