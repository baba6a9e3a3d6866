"""Generation 1's repair half of an incident (frozen, see workflows/legacy/__init__.py).

Runs inside IncidentWorkflow (same determinism rules: time from ``workflow.now()``, ids from
``workflow.uuid4()``, every side effect an activity). The workflow's main loop owns the timing:
it wakes for deliveries, for a decision (the ``decide`` update) and for this flow's deadline (the
approval timeout, then the verify window), and calls back into the methods here.

Policy (issue 3): the learning recommendation, else the analysis' action. Tier 1 runs without
asking when learning is at least AWOOOI_AUTO_REPAIR_CONFIDENCE sure and the budget allows; every
other tier 1-3 repair waits for Approve/Reject; tier 4 only notifies people. A repair counts as a
success when the alert resolves within the verify window, and only repairs that changed something
are learned from (a dry-run proves nothing about what fixes the alert).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import retries
from workflows.legacy.patches import BUDGET, ESCALATE, EXECUTE, RECOMMEND, RECORD_REPAIR

with workflow.unsafe.imports_passed_through():
    from core.inputs import (
        BudgetInput,
        BudgetStatus,
        ExecuteRepairInput,
        RecommendInput,
        RecordRepairInput,
        RepairPlanAnswer,
    )
    from core.legacy_inputs import EscalateInput, IncidentState
    from core.learning import FAILURE_STREAK_BLOCK, RecordOutcome, RepairRecord, SmartRecommendation
    from core.learning_service import from_analysis
    from core.repair import (
        HUMAN_ACTIONS,
        Decision,
        RepairPhase,
        RepairPolicy,
        RepairRequest,
        RepairResult,
        RepairState,
        RepairStatus,
        RepairTarget,
    )




def same_decision(first: Decision, second: Decision) -> bool:
    """The same person making the same decision again (a re-sent tap, a retried request)."""
    return first.approve == second.approve and (first.by_id or first.by) == (second.by_id or second.by)


class RepairFlow:
    def __init__(self, host: Any) -> None:  # generation 1's IncidentWorkflow
        self._host = host

    # -- what the main loop asks ------------------------------------------------------------

    @property
    def state(self) -> IncidentState:
        return self._host.require_state()

    @property
    def policy(self) -> RepairPolicy:
        return self._host.require_input().policy

    def seconds_to_deadline(self) -> float | None:
        repair = self._host.current_repair()
        if repair is None or repair.deadline is None or not repair.phase.open:
            return None
        return max((repair.deadline - workflow.now()).total_seconds(), 0.0)

    def deadline_name(self) -> str:
        """What the pending deadline is, for the timer's summary in the Web UI."""
        repair = self._host.current_repair()
        if repair is not None and repair.phase is RepairPhase.VERIFYING:
            return "verify window (does the alert resolve?)"
        return "approval deadline"

    # -- steps --------------------------------------------------------------------------------

    async def plan(self) -> None:
        """Decide what to do about a newly opened incident, before its first card goes out, so the
        card carries the buttons from the start (one message, not a message and an edit).

        The repair becomes visible to ``decide`` only once the plan is complete, so a decision that
        races the planning is refused ("no repair awaiting approval") instead of half-applied."""
        state = self.state
        target = RepairTarget.from_alert(state.alert)
        token = workflow.uuid4().hex
        answer = await self._recommend(state, target, token)
        plan = answer.recommendation
        now = workflow.now()
        repair = RepairState(
            repair_id=str(workflow.uuid4()),
            plan=plan,
            phase=RepairPhase.RUNNING,
            mode="approval",
            target=target,
            # Without the recommend step the token was never registered: no buttons, API/CLI only.
            approval_token=token if answer.registered else None,
            requested_at=now,
        )
        if plan.escalate:
            repair.phase, repair.finished_at = RepairPhase.ESCALATED, now
            # The new card is itself the call for a human; a second message would only add noise.
            repair.note = (f"{plan.action.value} failed {FAILURE_STREAK_BLOCK} times in a row for "
                           f"{state.anomaly_key}; it is not tried again here until it works elsewhere")
        elif plan.action in HUMAN_ACTIONS or answer.cannot_run:
            # Nothing to approve: either nothing is meant to change, or nothing here can change it.
            repair.mode, repair.phase, repair.finished_at = "manual", RepairPhase.MANUAL, now
            repair.note = f"needs a human: {answer.cannot_run or plan.action.value}"
        elif plan.tier == 1 and self._learned_and_sure(plan):
            budget = await self._budget(state)
            if budget is not None and budget.allowed:
                repair.mode = "auto"
                repair.note = f"learning is {round(plan.confidence * 100)}% sure: running without asking"
            else:
                repair.note = "budget spent, so it waits for a human" if budget else "budget unknown, so it asks"
                self._ask(repair)
        else:
            self._ask(repair)
        state.repair = repair

    async def after_first_card(self) -> None:
        """Run an automatic repair once the card announcing it is out."""
        repair = self.state.repair
        if repair is not None and repair.mode == "auto" and repair.phase is RepairPhase.RUNNING:
            await self._execute("auto")

    async def on_decision(self, decision: Decision) -> None:
        repair = self.state.repair
        if repair is None or repair.decision is not None:
            return  # a repeat of the decision already taken (the validator answered it the same)
        repair.decision = decision
        if repair.phase is not RepairPhase.AWAITING_APPROVAL:
            # Accepted while awaiting, but the alert resolved (or the incident closed) just before
            # the decision was carried out: say that on the card rather than act on a moot request.
            repair.note = f"{repair.note}; the decision came after that, so nothing was run"
            await self._host.show_card()
            return
        repair.deadline = None
        if decision.approve:
            repair.phase = RepairPhase.RUNNING
            repair.note = "approved: running"
            await self._host.show_card()  # the buttons go at once, whatever the executor takes
            await self._execute(decision.by)
            return
        repair.phase, repair.finished_at = RepairPhase.REJECTED, workflow.now()
        repair.note = "nothing was repaired"
        await self._host.show_card()

    async def on_resolved(self, received_at: datetime) -> None:
        """The alert resolved: a repair being verified worked if the resolution reached us within
        the verify window; a pending approval is moot."""
        repair = self.state.repair
        if repair is None:
            return
        now = workflow.now()
        if repair.phase is RepairPhase.VERIFYING and repair.deadline is not None:
            if received_at > repair.deadline:
                await self._verification_failed(repair, now)
                return
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.SUCCEEDED, now, None
            minutes = max((received_at - (repair.executed_at or received_at)).total_seconds(), 0) / 60
            repair.note = f"resolved {minutes:.1f} min after the repair"
            await self._learn(repair, success=True)
        elif repair.phase is RepairPhase.AWAITING_APPROVAL:
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.NOT_NEEDED, now, None
            repair.note = "the alert resolved before anyone decided: nothing was repaired"

    async def on_deadline(self, *, expired: bool = False) -> None:
        """The approval or verification deadline passed, or the incident expired before it did."""
        repair = self.state.repair
        if repair is None:
            return
        now = workflow.now()
        if repair.phase is RepairPhase.AWAITING_APPROVAL:
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.TIMED_OUT, now, None
            if expired:
                repair.note = "the incident expired before anyone decided: nothing was repaired"
            else:
                minutes = round(self.policy.approval_timeout_seconds / 60)
                repair.note = f"no decision within {minutes} min: escalated, nothing was repaired"
            await self._host.show_card()
            await self._escalate(repair.note, "approval-timeout")
        elif repair.phase is RepairPhase.VERIFYING:
            if expired:
                # Not a verdict on the fix: the verify window had not run out.
                repair.phase, repair.finished_at, repair.deadline = RepairPhase.ESCALATED, now, None
                repair.note = "the incident expired before the repair could be verified; nothing was learned"
                await self._host.show_card()
                await self._escalate(repair.note, "verify-expired")
                return
            await self._verification_failed(repair, now)

    async def _verification_failed(self, repair: RepairState, now: datetime) -> None:
        minutes = round(self.policy.verify_window_seconds / 60)
        repair.phase, repair.finished_at, repair.deadline = RepairPhase.FAILED, now, None
        repair.note = f"{repair.plan.action.value} did not resolve the alert within {minutes} min"
        outcome = await self._learn(repair, success=False)
        if outcome is not None and outcome.blocked:
            repair.note += "; it failed twice in a row here and will not be recommended again for now"
        await self._host.show_card()
        await self._escalate(repair.note, "verify-failed")

    # -- internals ----------------------------------------------------------------------------

    def _learned_and_sure(self, plan: SmartRecommendation) -> bool:
        """The action and its confidence come from learning (alone or merged with the analysis),
        and that confidence reaches AWOOOI_AUTO_REPAIR_CONFIDENCE."""
        from_learning = plan.sources.get("action") == "learning" and plan.sources.get("confidence") == "learning"
        return from_learning and plan.confidence >= self.policy.auto_repair_confidence

    def _ask(self, repair: RepairState) -> None:
        repair.phase = RepairPhase.AWAITING_APPROVAL
        repair.deadline = workflow.now() + timedelta(seconds=self.policy.approval_timeout_seconds)

    async def _recommend(self, state: IncidentState, target: RepairTarget, token: str) -> RepairPlanAnswer:
        inp = RecommendInput(incident_id=state.incident_id, workflow_id=workflow.info().workflow_id,
                             anomaly_key=state.anomaly_key, analysis=state.analysis, target=target,
                             alert_title=state.alert.title, approval_token=token)
        # plan-local-v1: Valkey for milliseconds, so no task round trip of its own before the first card.
        execute = workflow.execute_local_activity if self._host.plan_local else workflow.execute_activity
        try:
            return await execute(
                RECOMMEND, inp, result_type=RepairPlanAnswer,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=retries.QUICK,
                summary="plan the repair",
            )
        except ActivityError as exc:
            workflow.logger.error("learning unavailable", extra={"error": str(exc.cause or exc)})
            return RepairPlanAnswer(recommendation=from_analysis(state.anomaly_key, state.analysis), registered=False)

    async def _budget(self, state: IncidentState) -> BudgetStatus | None:
        try:
            return await workflow.execute_activity(
                BUDGET,
                BudgetInput(anomaly_key=state.anomaly_key, at=workflow.now()),
                result_type=BudgetStatus,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=retries.QUICK,
                summary="check the repair budget",
            )
        except ActivityError as exc:
            workflow.logger.error("repair budget unknown", extra={"error": str(exc.cause or exc)})
            return None

    async def _execute(self, requested_by: str) -> None:
        state, repair = self.state, self.state.repair
        assert repair is not None
        now = workflow.now()
        request = RepairRequest(
            repair_id=repair.repair_id,
            incident_id=state.incident_id,
            anomaly_key=state.anomaly_key,
            action=repair.plan.action,
            tier=repair.plan.tier,
            target=repair.target,
            alert_title=state.alert.title,
            requested_by=requested_by,
            requested_at=now,
            reason=repair.plan.fix_suggestion[:500],
        )
        try:
            result = await workflow.execute_activity(
                EXECUTE,
                ExecuteRepairInput(request=request),
                result_type=RepairResult,
                start_to_close_timeout=timedelta(minutes=2),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.EXECUTE,
                summary="run the repair",
            )
        except ActivityError as exc:
            # Retries ran out without an answer. The change may or may not have happened, so this is
            # neither a failure of the fix (nothing to learn) nor a success: a human must look.
            cause = exc.cause or exc
            result = RepairResult(repair_id=repair.repair_id, action=repair.plan.action, executor="unknown",
                                  status=RepairStatus.UNKNOWN,
                                  detail=f"the executor did not answer ({cause}); check whether it ran"[:300])
        repair.result, repair.executed_at = result, workflow.now()
        await self._after_execution(repair, result)

    async def _after_execution(self, repair: RepairState, result: RepairResult) -> None:
        now = workflow.now()
        if result.status is RepairStatus.EXECUTED:
            repair.phase = RepairPhase.VERIFYING
            repair.deadline = now + timedelta(seconds=self.policy.verify_window_seconds)
            repair.note = "waiting for the alert to resolve"
            await self._host.show_card()
            return
        repair.finished_at = now
        if result.status is RepairStatus.SIMULATED:
            repair.phase = RepairPhase.SIMULATED
            repair.note = "dry-run: nothing was changed (AWOOOI_REPAIR_EXECUTOR=dry-run)"
            await self._host.show_card()
            return
        if result.status is RepairStatus.FAILED:
            repair.phase = RepairPhase.FAILED
            repair.note = f"the repair failed: {result.detail}"[:300]
            outcome = await self._learn(repair, success=False)
            if outcome is not None and outcome.blocked:
                repair.note += "; it failed twice in a row here and will not be recommended again for now"
        elif result.status is RepairStatus.UNKNOWN:
            repair.phase = RepairPhase.ESCALATED
            repair.note = result.detail
        else:  # unsupported by this executor, or the budget was spent meanwhile
            repair.phase = RepairPhase.ESCALATED
            repair.note = f"nothing was repaired: {result.detail}"[:300]
        await self._host.show_card()
        await self._escalate(repair.note, "execution")

    async def _learn(self, repair: RepairState, *, success: bool) -> RecordOutcome | None:
        """Record the outcome of a repair that changed something (or tried to)."""
        state, result = self.state, repair.result
        if result is None or result.status not in (RepairStatus.EXECUTED, RepairStatus.FAILED):
            return None
        now = workflow.now()
        record = RepairRecord(
            repair_id=repair.repair_id,
            incident_id=state.incident_id,
            anomaly_key=state.anomaly_key,
            action=repair.plan.action,
            success=success,
            execution_seconds=result.execution_seconds,
            time_to_resolve_seconds=(now - repair.executed_at).total_seconds() if success and repair.executed_at else None,
            executor=result.executor,
            decided_by=repair.decision.by if repair.decision else "auto",
            root_cause=state.analysis.root_cause[:500],
            at=now,
        )
        try:
            return await workflow.execute_activity(
                RECORD_REPAIR,
                RecordRepairInput(record=record),
                result_type=RecordOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=30),
                retry_policy=retries.QUICK,
                summary="learn the repair outcome",
            )
        except ActivityError as exc:
            workflow.logger.error("repair outcome not recorded", extra={"error": str(exc.cause or exc)})
            return None

    async def _escalate(self, reason: str, kind: str) -> None:
        state = self.state
        repair = state.repair
        key = f"{repair.repair_id if repair else state.lifecycle_id}:{kind}"
        try:
            await workflow.execute_activity(
                ESCALATE,
                EscalateInput(view=state.view(), escalation_key=key, reason=reason, reply_to=state.message_id),
                result_type=int | None,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=15),
                retry_policy=retries.QUICK,
                summary="escalate in the chat",
            )
        except ActivityError as exc:
            workflow.logger.error("escalation not sent", extra={"error": str(exc.cause or exc)})
