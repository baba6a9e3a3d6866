"""The default executor: says exactly what the kubernetes executor would do, and changes nothing.

It runs the same planner (:func:`activities.repair.plan.plan_repair`) as the kubernetes executor, so
its ``operations`` are the real executor's (only a scale step, whose new count needs the live replica
count, is described as a rule). That lets a team run awoooi for weeks on ``dry-run``, read what it
would have done in every incident, and switch on real repairs knowing what they will be.
"""

from __future__ import annotations

from activities.repair.plan import Planner, Unsupported, unsupported_result
from core.repair import RepairRequest, RepairResult, RepairStatus

__all__ = ["DryRunExecutor"]

DRY_RUN_DETAIL = "dry-run: nothing was changed"


class DryRunExecutor:
    """Implements ``core.ports.RepairExecutor`` without any I/O: SIMULATED or UNSUPPORTED, never an error."""

    name = "dry-run"
    dry_run = True

    def __init__(self, default_namespace: str = "default", scale_min: int = 1, scale_max: int = 10) -> None:
        self._planner = Planner(default_namespace, scale_min, scale_max)

    def __repr__(self) -> str:
        return f"DryRunExecutor({self._planner!r})"

    def check(self, request: RepairRequest) -> str | None:
        return self._planner.check(request)

    async def execute(self, request: RepairRequest) -> RepairResult:
        planned = self._planner.plan(request)
        if isinstance(planned, Unsupported):
            return unsupported_result(request, self.name, planned)
        return RepairResult(
            repair_id=request.repair_id,
            action=request.action,
            executor=self.name,
            status=RepairStatus.SIMULATED,
            detail=DRY_RUN_DETAIL,
            operations=[operation.describe() for operation in planned],
        )
