"""What a repair means in Kubernetes API calls, decided once for every executor that speaks Kubernetes.

The dry-run executor and the kubernetes executor both call :func:`plan_repair`, so a dry-run records
exactly the operations a real run would make (same objects, same patch bodies, same lines in
``RepairResult.operations``), and switching AWOOOI_REPAIR_EXECUTOR from ``dry-run`` to ``kubernetes``
holds no surprise.

Every value in a plan derives from the :class:`~core.repair.RepairRequest` alone (the restart
timestamp is ``requested_at``, never the wall clock), so a retried activity plans, and sends, the
identical request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.models import RepairAction
from core.repair import RepairRequest, RepairResult, RepairStatus

__all__ = [
    "RESTARTED_AT",
    "DeletePod",
    "Operation",
    "RestartDeployment",
    "ScaleDeployment",
    "Unsupported",
    "check_bounds",
    "plan_repair",
    "rfc3339",
    "unsupported_result",
]

# The annotation `kubectl rollout restart` sets; changing it changes the pod template, which makes
# the Deployment controller roll every pod.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

_RESTARTS = frozenset({RepairAction.RESTART_POD, RepairAction.RESTART_CONTAINER})
_SCALES = {RepairAction.SCALE_UP: +1, RepairAction.SCALE_DOWN: -1}


def rfc3339(moment: datetime) -> str:
    """``2026-11-25T10:00:00Z``: UTC, whole seconds, like ``kubectl rollout restart`` writes it.

    A naive datetime is taken as UTC (the workflow's clock is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DeletePod:
    """Delete one pod; its controller (ReplicaSet, StatefulSet...) starts a fresh one."""

    namespace: str
    pod: str

    def describe(self) -> str:
        return f"DELETE pod {self.namespace}/{self.pod}"


@dataclass(frozen=True)
class RestartDeployment:
    """``kubectl rollout restart``: a strategic-merge patch of the pod template's restartedAt annotation.

    The controller replaces pods one by one within the Deployment's surge/unavailable budget, so this is
    the gentle way to restart a pod or a container of a Deployment (a container cannot be restarted on
    its own through the API)."""

    namespace: str
    deployment: str
    restarted_at: str  # RFC 3339, from RepairRequest.requested_at

    @property
    def patch(self) -> dict[str, Any]:
        return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: self.restarted_at}}}}}

    def describe(self) -> str:
        return f"PATCH deployment {self.namespace}/{self.deployment} {RESTARTED_AT}={self.restarted_at}"


@dataclass(frozen=True)
class ScaleDeployment:
    """Move a Deployment's replicas one step (``delta`` = +1 or -1) through its scale subresource.

    The new count depends on the current one, which only the cluster knows: the plan carries the rule
    (:meth:`target`) and the bounds, the kubernetes executor reads the scale and applies the rule.
    """

    namespace: str
    deployment: str
    delta: int
    minimum: int
    maximum: int

    def target(self, current: int) -> int | None:
        """The replica count to set, or None when ``current`` is already at the bound in that direction.

        A step never jumps: outside [minimum, maximum] (someone scaled by hand) it still moves by one,
        and only towards the range is it allowed, so a repair never drops five replicas at once."""
        if self.delta > 0:
            return current + 1 if current < self.maximum else None
        return current - 1 if current > self.minimum else None

    def bound_reached(self, current: int) -> str:
        """Why :meth:`target` said no, for RepairResult.detail."""
        if self.delta > 0:
            return (f"deployment {self.namespace}/{self.deployment} already has {current} replicas, "
                    f"at or above the maximum {self.maximum} (AWOOOI_REPAIR_SCALE_MAX); nothing was patched")
        return (f"deployment {self.namespace}/{self.deployment} already has {current} replicas, "
                f"at or below the minimum {self.minimum} (AWOOOI_REPAIR_SCALE_MIN); nothing was patched")

    def describe(self) -> str:
        return (f"scale deployment {self.namespace}/{self.deployment} by {self.delta:+d} "
                f"within [{self.minimum},{self.maximum}]")

    def describe_patch(self, current: int, new: int) -> str:
        return f"PATCH deployment {self.namespace}/{self.deployment}/scale replicas={new} (was {current})"


Operation = DeletePod | RestartDeployment | ScaleDeployment


@dataclass(frozen=True)
class Unsupported:
    """The request cannot become Kubernetes operations; ``reason`` says why, for a human."""

    reason: str


def plan_repair(
    request: RepairRequest, *, default_namespace: str = "default", scale_min: int = 1, scale_max: int = 10
) -> list[Operation] | Unsupported:
    """The Kubernetes operations that carry out ``request``, in order, or why there are none.

    The namespace is the alert's, else ``default_namespace``. A missing target label is named, so the
    operator knows which label the alert rule should carry."""
    action = request.action
    target = request.target
    namespace = target.namespace or default_namespace
    if action is RepairAction.DELETE_POD:
        if not target.pod:
            return Unsupported(f"cannot {action.value}: the alert has no 'pod' label ({target.describe()})")
        return [DeletePod(namespace, target.pod)]
    if action in _RESTARTS or action in _SCALES:
        if not target.deployment:
            return Unsupported(
                f"cannot {action.value}: the alert names no deployment (no 'deployment' label, and no "
                f"'pod' label shaped like a Deployment's pod) ({target.describe()})"
            )
        if action in _RESTARTS:
            return [RestartDeployment(namespace, target.deployment, rfc3339(request.requested_at))]
        return [ScaleDeployment(namespace, target.deployment, _SCALES[action], scale_min, scale_max)]
    return Unsupported(f"the kubernetes executor cannot {action.value}; a human must")


def check_bounds(scale_min: int, scale_max: int) -> None:
    """Refuse nonsensical bounds when an executor is built, not at the first scale repair."""
    if scale_min < 0 or scale_max < scale_min:
        raise ValueError(f"scale bounds must satisfy 0 <= min <= max, got [{scale_min},{scale_max}]")


def unsupported_result(request: RepairRequest, executor: str, unsupported: Unsupported) -> RepairResult:
    return RepairResult(
        repair_id=request.repair_id,
        action=request.action,
        executor=executor,
        status=RepairStatus.UNSUPPORTED,
        detail=unsupported.reason,
    )


class Planner:
    """``plan_repair`` with one executor's namespace and scale bounds, shared by dry-run and
    Kubernetes so both answer ``check`` and plan exactly alike."""

    def __init__(self, default_namespace: str = "default", scale_min: int = 1, scale_max: int = 10) -> None:
        check_bounds(scale_min, scale_max)
        self.default_namespace = default_namespace
        self.scale_min = scale_min
        self.scale_max = scale_max

    def __repr__(self) -> str:
        return f"default_namespace={self.default_namespace!r}, scale=[{self.scale_min},{self.scale_max}]"

    def plan(self, request: RepairRequest) -> list[Operation] | Unsupported:
        return plan_repair(request, default_namespace=self.default_namespace, scale_min=self.scale_min,
                           scale_max=self.scale_max)

    def check(self, request: RepairRequest) -> str | None:
        planned = self.plan(request)
        return planned.reason if isinstance(planned, Unsupported) else None
