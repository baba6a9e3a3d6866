"""Repair activities: ask learning what to do (and remember the approval token the buttons will
carry), check and spend the budget, run the executor once, and record outcomes for learning.

Running a repair is idempotent per ``repair_id``: its result is kept in the ledger and a retried
activity returns it instead of running the executor again. The budget is reserved under the same
id, so a retry never spends twice. The one window left is a crash after the executor acted and
before the ledger write; the executors are built so that a repeat is harmless where the target
allows it (the same restartedAt value, a pod already gone, an idempotency key for runbooks).
"""

from __future__ import annotations

from datetime import datetime, timezone

import structlog
from temporalio import activity

from activities.failures import to_application_error
from activities.valkey.budget import RedisRepairBudget
from core.errors import UpstreamError
from core.inputs import (
    BudgetInput,
    BudgetStatus,
    ExecuteRepairInput,
    RecommendInput,
    RecordRepairInput,
    RepairPlanAnswer,
)
from core.learning import RecordOutcome
from core.learning_service import LearningService
from core.metrics import Metrics
from core.ports import IdempotencyLedger, RepairExecutor
from core.repair import HUMAN_ACTIONS, RepairRequest, RepairResult, RepairStatus

log = structlog.get_logger(__name__)



class RepairActivities:
    def __init__(
        self,
        executor: RepairExecutor,
        learning: LearningService,
        budget: RedisRepairBudget,
        ledger: IdempotencyLedger,
        metrics: Metrics,
    ) -> None:
        self._executor = executor
        self._learning = learning
        self._budget = budget
        self._ledger = ledger
        self._metrics = metrics

    @activity.defn(name="recommend_repair")
    async def recommend(self, inp: RecommendInput) -> RepairPlanAnswer:
        """What to do (learning, else the analysis) and whether this executor can do it at all."""
        try:
            recommendation = await self._learning.smart_recommendation(inp.anomaly_key, inp.analysis)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        probe = RepairRequest(repair_id="plan", incident_id=inp.incident_id, anomaly_key=inp.anomaly_key,
                              action=recommendation.action, tier=recommendation.tier, target=inp.target,
                              alert_title=inp.alert_title, requested_by="plan",
                              requested_at=activity.info().current_attempt_scheduled_time)
        cannot_run = None if recommendation.action in HUMAN_ACTIONS else self._executor.check(probe)
        may_ask = cannot_run is None and recommendation.action not in HUMAN_ACTIONS and not recommendation.escalate
        if may_ask:
            try:
                await self._ledger.register_approval(inp.approval_token, inp.workflow_id)
            except UpstreamError as exc:
                raise to_application_error(exc) from exc
        return RepairPlanAnswer(recommendation=recommendation, cannot_run=cannot_run, registered=may_ask)

    @activity.defn(name="repair_budget")
    async def budget(self, inp: BudgetInput) -> BudgetStatus:
        try:
            return await self._budget.status(inp.anomaly_key, inp.at)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc

    @activity.defn(name="execute_repair")
    async def execute(self, inp: ExecuteRepairInput) -> RepairResult:
        request = inp.request
        bound = log.bind(repair_id=request.repair_id, incident_id=request.incident_id,
                         action=request.action.value, executor=self._executor.name)
        try:
            known = await self._ledger.repair_result(request.repair_id)
            if known is not None:
                bound.info("repair already ran; returning its result")
                return RepairResult.model_validate_json(known)
            spent = None
            if not self._executor.dry_run:  # a simulation changes nothing, so it spends nothing
                spent = await self._budget.reserve(request.anomaly_key, request.repair_id, request.requested_at)
            if spent is not None and not spent.allowed:
                result = RepairResult(repair_id=request.repair_id, action=request.action,
                                      executor=self._executor.name, status=RepairStatus.REFUSED,
                                      detail=f"repair budget spent: {spent.describe()}")
            else:
                result = await self._executor.execute(request)
            result = result.model_copy(update={"finished_at": datetime.now(timezone.utc)})
        except UpstreamError as exc:
            bound.warning("repair attempt failed", error=str(exc), retryable=exc.retryable)
            if not exc.retryable:
                # The target said no for good: that is an outcome, not an outage.
                return RepairResult(repair_id=request.repair_id, action=request.action,
                                    executor=self._executor.name, status=RepairStatus.FAILED,
                                    detail=str(exc)[:300])
            raise to_application_error(exc) from exc
        try:
            await self._ledger.keep_repair_result(request.repair_id, result.model_dump_json())
        except UpstreamError as exc:
            # The repair already happened: report it. Raising would retry it, i.e. run it twice.
            bound.error("repair result not kept in the ledger", error=str(exc))
        self._metrics.repairs.labels(executor=result.executor, action=result.action.value,
                                     status=result.status.value).inc()
        bound.info("repair done", status=result.status.value, operations=result.operations,
                   seconds=round(result.execution_seconds, 3), requested_by=request.requested_by)
        return result

    @activity.defn(name="record_repair_result")
    async def record(self, inp: RecordRepairInput) -> RecordOutcome:
        try:
            outcome = await self._learning.record_repair_result(inp.record)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        log.info("repair outcome recorded", anomaly_key=inp.record.anomaly_key, action=inp.record.action.value,
                 success=inp.record.success, recorded=outcome.recorded, playbook_updated=outcome.playbook_updated,
                 blocked=outcome.blocked)
        return outcome
