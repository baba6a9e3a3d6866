"""The repair half of an incident: plan, ask a human when needed, run once, verify, learn.

Policy (issue 3): learning's recommendation, else the analysis' action. Tier 1 runs without asking
when learning is at least AWOOOI_AUTO_REPAIR_CONFIDENCE sure and the budget allows; every other tier
1-3 repair waits for Approve/Reject; tier 4 only notifies people. A repair counts as a success when
the alert resolves within the verify window, and only repairs that changed something are learned
from (a dry-run proves nothing about what fixes the alert).

Decisions only: each method is a step that yields commands (core/incident/commands.py). It needs
two things of the incident, given at construction: the card (to show what it did) and new ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.incident.cards import Cards
from core.incident.commands import Budget, Escalate, Execute, Failed, LearnRepair, Recommend, Step, error, info
from core.incident.silencing import is_silenced
from core.incident.state import IncidentState
from core.inputs import (
    BudgetInput,
    BudgetStatus,
    EscalateInput,
    ExecuteRepairInput,
    RecommendInput,
    RecordRepairInput,
    RepairPlanAnswer,
)
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

_BLOCKED_NOTE = "; it failed twice in a row here and will not be recommended again for now"


def same_decision(first: Decision, second: Decision) -> bool:
    """The same person making the same decision again (a re-sent tap, a retried request)."""
    return first.approve == second.approve and (first.by_id or first.by) == (second.by_id or second.by)


def check_decision(repair: RepairState | None, decision: Decision, pending: list[Decision]) -> None:
    """Refuse, before anything is recorded, a decision that has nothing to decide (ValueError)."""
    if repair is None:
        raise ValueError("this incident has no repair awaiting approval")
    if decision.approval_token is not None and decision.approval_token != repair.approval_token:
        raise ValueError("this button belongs to an earlier repair request")
    taken = repair.decision or (pending[0] if pending else None)
    if taken is not None:
        if same_decision(taken, decision):
            return
        verb = "approved" if taken.approve else "rejected"
        raise ValueError(f"already {verb} by {taken.by}")
    if repair.phase is not RepairPhase.AWAITING_APPROVAL:
        raise ValueError(f"nothing to decide: the repair is {repair.phase.value.replace('_', ' ')}")


class Repairs:
    def __init__(self, policy: RepairPolicy, cards: Cards, new_id: Callable[[], str], workflow_id: str) -> None:
        self._policy = policy
        self._cards = cards
        self._new_id = new_id
        self._workflow_id = workflow_id

    # -- when ---------------------------------------------------------------------------------

    @staticmethod
    def deadline(state: IncidentState) -> datetime | None:
        """The approval deadline while awaiting, the verify window's end while verifying."""
        repair = state.repair
        if repair is None or repair.deadline is None or not repair.phase.open:
            return None
        return repair.deadline

    @staticmethod
    def deadline_name(state: IncidentState) -> str:
        if state.repair is not None and state.repair.phase is RepairPhase.VERIFYING:
            return "verify window (does the alert resolve?)"
        return "approval deadline"

    # -- steps --------------------------------------------------------------------------------

    def plan(self, state: IncidentState, now: datetime) -> Step:
        """Decide what to do about a newly opened incident, before its first card goes out, so the
        card carries the buttons from the start (one message, not a message and an edit)."""
        target = RepairTarget.from_alert(state.alert)
        token = self._new_id().replace("-", "")
        answer = yield Recommend(
            RecommendInput(incident_id=state.incident_id, workflow_id=self._workflow_id,
                           anomaly_key=state.anomaly_key, analysis=state.analysis, target=target,
                           alert_title=state.alert.title, approval_token=token),
            "plan the repair")
        if isinstance(answer, Failed):
            yield error("learning unavailable", error=answer.reason)
            answer = RepairPlanAnswer(recommendation=from_analysis(state.anomaly_key, state.analysis),
                                      registered=False)
        plan = answer.recommendation
        repair = RepairState(
            repair_id=self._new_id(), plan=plan, phase=RepairPhase.RUNNING, mode="approval", target=target,
            # Without the recommend step the token was never registered: no buttons, API/CLI only.
            approval_token=token if answer.registered else None, requested_at=now)
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
            budget = yield Budget(BudgetInput(anomaly_key=state.anomaly_key, at=now), "check the repair budget")
            if isinstance(budget, Failed):
                yield error("repair budget unknown", error=budget.reason)
            elif budget.allowed:
                repair.mode = "auto"
                repair.note = f"learning is {round(plan.confidence * 100)}% sure: running without asking"
            if repair.mode != "auto":
                allowed = isinstance(budget, BudgetStatus)
                repair.note = "budget spent, so it waits for a human" if allowed else "budget unknown, so it asks"
                self._ask(repair, now)
        else:
            self._ask(repair, now)
        state.repair = repair

    def after_first_card(self, state: IncidentState, now: datetime) -> Step:
        """Run an automatic repair once the card announcing it is out."""
        repair = state.repair
        if repair is not None and repair.mode == "auto" and repair.phase is RepairPhase.RUNNING:
            yield from self._execute(state, "auto", now)

    def on_decision(self, state: IncidentState, decision: Decision, now: datetime) -> Step:
        repair = state.repair
        if repair is None or repair.decision is not None:
            return  # a repeat of the decision already taken (the validator answered it the same)
        repair.decision = decision
        if repair.phase is not RepairPhase.AWAITING_APPROVAL:
            # Accepted while awaiting, but the alert resolved (or the incident closed) just before
            # the decision was carried out: say that on the card rather than act on a moot request.
            repair.note = f"{repair.note}; the decision came after that, so nothing was run"
            yield from self._cards.show(state, now)
            return
        repair.deadline = None
        if decision.approve:
            repair.phase = RepairPhase.RUNNING
            repair.note = "approved: running"
            yield from self._cards.show(state, now)  # the buttons go at once, whatever the executor takes
            yield from self._execute(state, decision.by, now)
            return
        repair.phase, repair.finished_at = RepairPhase.REJECTED, now
        repair.note = "nothing was repaired"
        yield from self._cards.show(state, now)

    def on_resolved(self, state: IncidentState, received_at: datetime, now: datetime) -> Step:
        """The alert resolved: a repair being verified worked if the resolution reached us within
        the verify window; a pending approval is moot. The caller shows the card."""
        repair = state.repair
        if repair is None:
            return
        if repair.phase is RepairPhase.VERIFYING and repair.deadline is not None:
            if received_at > repair.deadline:
                yield from self._verification_failed(state, repair, now, show=False)
                return
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.SUCCEEDED, now, None
            minutes = max((received_at - (repair.executed_at or received_at)).total_seconds(), 0) / 60
            repair.note = f"resolved {minutes:.1f} min after the repair"
            yield from self._learn(state, repair, success=True, now=now)
        elif repair.phase is RepairPhase.AWAITING_APPROVAL:
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.NOT_NEEDED, now, None
            repair.note = "the alert resolved before anyone decided: nothing was repaired"

    def on_deadline(self, state: IncidentState, now: datetime, *, expired: bool = False) -> Step:
        """The approval or verification deadline passed, or the incident expired before it did."""
        repair = state.repair
        if repair is None:
            return
        if repair.phase is RepairPhase.AWAITING_APPROVAL:
            repair.phase, repair.finished_at, repair.deadline = RepairPhase.TIMED_OUT, now, None
            if expired:
                repair.note = "the incident expired before anyone decided: nothing was repaired"
            else:
                minutes = round(self._policy.approval_timeout_seconds / 60)
                repair.note = f"no decision within {minutes} min: escalated, nothing was repaired"
            yield from self._cards.show(state, now)
            yield from self._escalate(state, repair.note, "approval-timeout")
        elif repair.phase is RepairPhase.VERIFYING:
            if expired:
                # Not a verdict on the fix: the verify window had not run out.
                repair.phase, repair.finished_at, repair.deadline = RepairPhase.ESCALATED, now, None
                repair.note = "the incident expired before the repair could be verified; nothing was learned"
                yield from self._cards.show(state, now)
                yield from self._escalate(state, repair.note, "verify-expired")
                return
            yield from self._verification_failed(state, repair, now, show=True)

    # -- internals ----------------------------------------------------------------------------

    def _verification_failed(self, state: IncidentState, repair: RepairState, now: datetime, *, show: bool) -> Step:
        minutes = round(self._policy.verify_window_seconds / 60)
        repair.phase, repair.finished_at, repair.deadline = RepairPhase.FAILED, now, None
        repair.note = f"{repair.plan.action.value} did not resolve the alert within {minutes} min"
        outcome = yield from self._learn(state, repair, success=False, now=now)
        if isinstance(outcome, RecordOutcome) and outcome.blocked:
            repair.note += _BLOCKED_NOTE
        if show:
            yield from self._cards.show(state, now)
        yield from self._escalate(state, repair.note, "verify-failed")

    def _learned_and_sure(self, plan: SmartRecommendation) -> bool:
        """The action and its confidence come from learning (alone or merged with the analysis),
        and that confidence reaches AWOOOI_AUTO_REPAIR_CONFIDENCE."""
        from_learning = plan.sources.get("action") == "learning" and plan.sources.get("confidence") == "learning"
        return from_learning and plan.confidence >= self._policy.auto_repair_confidence

    def _ask(self, repair: RepairState, now: datetime) -> None:
        repair.phase = RepairPhase.AWAITING_APPROVAL
        repair.deadline = now + timedelta(seconds=self._policy.approval_timeout_seconds)

    def _execute(self, state: IncidentState, requested_by: str, now: datetime) -> Step:
        repair = state.repair
        assert repair is not None
        request = RepairRequest(
            repair_id=repair.repair_id, incident_id=state.incident_id, anomaly_key=state.anomaly_key,
            action=repair.plan.action, tier=repair.plan.tier, target=repair.target, alert_title=state.alert.title,
            requested_by=requested_by, requested_at=now, reason=repair.plan.fix_suggestion[:500])
        result = yield Execute(ExecuteRepairInput(request=request), "run the repair")
        if isinstance(result, Failed):
            # Retries ran out without an answer. The change may or may not have happened, so this is
            # neither a failure of the fix (nothing to learn) nor a success: a human must look.
            result = RepairResult(repair_id=repair.repair_id, action=repair.plan.action, executor="unknown",
                                  status=RepairStatus.UNKNOWN,
                                  detail=f"the executor did not answer ({result.reason}); check whether it ran"[:300])
        repair.result, repair.executed_at = result, result.finished_at or now
        yield from self._after_execution(state, repair, result, now)

    def _after_execution(self, state: IncidentState, repair: RepairState, result: RepairResult,
                         now: datetime) -> Step:
        if result.status is RepairStatus.EXECUTED:
            repair.phase = RepairPhase.VERIFYING
            started = repair.executed_at or now
            repair.deadline = started + timedelta(seconds=self._policy.verify_window_seconds)
            repair.note = "waiting for the alert to resolve"
            yield from self._cards.show(state, now)
            return
        repair.finished_at = now
        if result.status is RepairStatus.SIMULATED:
            repair.phase = RepairPhase.SIMULATED
            repair.note = "dry-run: nothing was changed (AWOOOI_REPAIR_EXECUTOR=dry-run)"
            yield from self._cards.show(state, now)
            return
        if result.status is RepairStatus.FAILED:
            repair.phase = RepairPhase.FAILED
            repair.note = f"the repair failed: {result.detail}"[:300]
            outcome = yield from self._learn(state, repair, success=False, now=now)
            if isinstance(outcome, RecordOutcome) and outcome.blocked:
                repair.note += _BLOCKED_NOTE
        elif result.status is RepairStatus.UNKNOWN:
            repair.phase = RepairPhase.ESCALATED
            repair.note = result.detail
        else:  # unsupported by this executor, or the budget was spent meanwhile
            repair.phase = RepairPhase.ESCALATED
            repair.note = f"nothing was repaired: {result.detail}"[:300]
        yield from self._cards.show(state, now)
        yield from self._escalate(state, repair.note, "execution")

    def _learn(self, state: IncidentState, repair: RepairState, *, success: bool, now: datetime) -> Step:
        """Record the outcome of a repair that changed something (or tried to); its RecordOutcome."""
        result = repair.result
        if result is None or result.status not in (RepairStatus.EXECUTED, RepairStatus.FAILED):
            return None
        record = RepairRecord(
            repair_id=repair.repair_id, incident_id=state.incident_id, anomaly_key=state.anomaly_key,
            action=repair.plan.action, success=success, execution_seconds=result.execution_seconds,
            time_to_resolve_seconds=(now - repair.executed_at).total_seconds() if success and repair.executed_at
            else None,
            executor=result.executor, decided_by=repair.decision.by if repair.decision else "auto",
            root_cause=state.analysis.root_cause[:500], at=now)
        outcome = yield LearnRepair(RecordRepairInput(record=record), "learn the repair outcome")
        if isinstance(outcome, Failed):
            yield error("repair outcome not recorded", error=outcome.reason)
            return None
        return outcome

    def _escalate(self, state: IncidentState, reason: str, kind: str) -> Step:
        if is_silenced(state):  # a silence holds every message that would ring phones (ADR 0029)
            yield info("escalation held: the incident is silenced", reason=reason)
            return
        repair = state.repair
        key = f"{repair.repair_id if repair else state.lifecycle_id}:{kind}"
        sent = yield Escalate(EscalateInput(view=state.view(), escalation_key=key, reason=reason, reply_to=state.message_id),
                              "escalate in the chat")
        if isinstance(sent, Failed):
            yield error("escalation not sent", error=sent.reason)
