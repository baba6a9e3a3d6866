"""The incident workflow: one durable pipeline per incident, fed by delivery signals.

Every delivery of an alert is a ``deliver`` signal to the workflow whose id is derived from the
alert's source and fingerprint (docs/adr/0002-workflow-identity.md). The first delivery runs the
whole chain: analyze -> create the incident -> Telegram card -> Sentry comment -> learning record.
A repeat of a firing alert aggregates (count + 1, card edited); a resolution edits the card to
resolved and, after a short grace period that absorbs flapping, ends the run.

Deterministic by construction: time from ``workflow.now()``, ids from ``workflow.uuid4()``, all
I/O in activities. Changes after release go behind ``workflow.patched`` (tests/test_replay.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.analyze import AnalysisActivities
    from activities.incidents import IncidentActivities
    from activities.learning import LearningActivities
    from activities.notify import TelegramActivities
    from activities.sentry_comment import SentryActivities
    from core import search_attributes as sa
    from core.console import current_details, repair_phase
    from core.inputs import (
        AnalyzeInput,
        CardInput,
        CardPlacement,
        DeliverySeenInput,
        EditCardInput,
        IncidentOutcome,
        IncidentState,
        IncidentWorkflowInput,
        LearningRecordInput,
        PlaceCardInput,
        SaveBatchInput,
        SaveIncidentInput,
        SentryCommentInput,
    )
    from core.models import (
        AlertDelivery,
        AlertStatus,
        Analysis,
        DeliveryBatch,
        IncidentStatus,
        RecommendedRepair,
        RepairAction,
    )
    from core.probe import is_probe
    from core.repair import Decision, DecisionAnswer, RepairPhase, RepairState

from workflows import retries
from workflows.repair_flow import RepairFlow, same_decision

# How many recent delivery ids the workflow remembers to drop a sender's retry.
SEEN_WINDOW = 200
# Repairs, approvals and the LLM's heartbeating analysis (issue 3) came after release 1.
REPAIRS_PATCH = "repairs-v1"
# A re-sent firing (same fingerprint and startsAt: an Alertmanager retry or repeat_interval) is news
# of the same occurrence: it updates last_seen, it is not counted again and it edits no card (issue 11).
OCCURRENCE_PATCH = "occurrence-dedup-v1"
# The RepairPhase search attribute, so `RepairPhase="awaiting_approval"` lists the approval queue (issue 9).
CONSOLE_PATCH = "console-v1"
# Alert-chain probe alerts (issue 7): no learning, no repair, no Sentry comment, card only to the
# probe chat, closed without the resolve grace (docs/adr/0009-alert-chain-probe.md).
PROBE_PATCH = "probe-alerts-v1"
# Storms (issue 8): deliveries arrive in batches (``deliver_batch``) and the whole inbox is drained at
# once: N repeats are one save (INCRBY N), one learning record and at most one card edit; count-only
# edits wait for AWOOOI_CARD_EDIT_INTERVAL; the quick Valkey steps and the rule analysis run as local
# activities (docs/adr/0003-local-activities.md, docs/adr/0015-group-commit-intake.md).
STORM_PATCH = "storm-v1"
# Storms of distinct alerts (issue 8): cards go through place_card, which, while more than
# AWOOOI_DIGEST_THRESHOLD new incidents reach a chat within a minute, shows the incident as a line
# of the chat's digest message. An open digested incident asks for its own card again after a digest
# window (then doubling waits), and the ``own_card`` update gets it one at once (docs/adr/0016).
DIGEST_PATCH = "digest-v1"
# A query waiting when a workflow task is handed out makes the SDK end that task once its local
# activities are done: their markers land in it, and what the workflow did next in the task after.
# Replay runs that code in the first task, before core announces the second task's patches, so a
# patch first asked right after a local activity read False and the replay failed (TMPRL1100).
# Under this patch every later patch is asked at the start of the run, before any local activity
# (docs/adr/0017-patches-before-local-activities.md).
PATCHES_FIRST_PATCH = "patches-first-v1"
# Asked at the start of the run under patches-first-v1. repairs-v1 and probe-alerts-v1 are first
# asked in ``_open``, before the run's first local activity, so they stay where they are.
LATER_PATCHES = (OCCURRENCE_PATCH, CONSOLE_PATCH)
# The repair plan (``recommend_repair``: a learning read and an idempotent ledger write in Valkey)
# runs as a local activity when the input asks for local steps: one workflow task fewer before a new
# incident's first card (docs/adr/0003-local-activities.md, measured in BENCHMARKS.md).
PLAN_LOCAL_PATCH = "plan-local-v1"
# A count-only change waits until the incident's card made fewer than AWOOOI_CARD_BUDGET_CALLS (2)
# first-show and count calls within AWOOOI_CARD_BUDGET_WINDOW (60 s): a storm that goes on for minutes
# edits each card twice a minute, not once per AWOOOI_CARD_EDIT_INTERVAL. State changes still go at
# once and do not spend the budget (issue 8).
CARD_BUDGET_PATCH = "card-budget-v1"


class _Fold:
    """storm-v1: the deliveries of one drained inbox that only add to an open incident.

    A plain class: the sandbox re-runs this module for every new workflow, and a dataclass's
    class-time processing showed in the worker's profile of a storm."""

    __slots__ = ("counted", "seen", "last")

    def __init__(self) -> None:
        self.counted: list[str] = []
        self.seen: list[str] = []
        self.last: AlertDelivery | None = None


def fallback_analysis(reason: str) -> Analysis:
    """Used when the analyze step itself failed: the card still goes out, and says so."""
    return Analysis(
        category="unknown",
        root_cause=f"Analysis unavailable ({reason}); look at the alert itself.",
        impact="Unknown.",
        fix_suggestion="Investigate manually.",
        prevention="Check the awoooi worker logs for why analysis failed.",
        confidence=0.0,
        analyzed_by="fallback",
        recommended_repair=RecommendedRepair(
            action=RepairAction.MANUAL_INTERVENTION, tier=4, reason="no analysis available"
        ),
        rule_id=None,
    )


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow:
    def __init__(self) -> None:
        self._inbox: list[AlertDelivery] = []
        self._state: IncidentState | None = None
        self._input: IncidentWorkflowInput | None = None
        self._decision: Decision | None = None
        self._repairs = RepairFlow(self)
        self._repairs_enabled = False
        self._shown_phase: str | None = None
        self._probe = False  # probe-alerts-v1
        self._storm = False  # storm-v1
        self._digest = False  # digest-v1
        self.plan_local = False  # plan-local-v1: RepairFlow runs recommend_repair as a local activity
        self._budget = False  # card-budget-v1
        # One card call at a time: the main loop's and the ``own_card`` update's.
        self._card_lock = asyncio.Lock()

    @workflow.signal(name="deliver_batch")
    def deliver_batch(self, batch: DeliveryBatch) -> None:
        self._inbox.extend(batch.deliveries)

    @workflow.signal(name="deliver")
    def deliver(self, delivery: AlertDelivery) -> None:
        self._inbox.append(delivery)

    @workflow.update(name="decide")
    def decide(self, decision: Decision) -> DecisionAnswer:
        """Approve or reject the pending repair. Accepted here, carried out by the main loop.

        The same person repeating the same decision (Telegram re-sending a tap, a retried API
        call) gets the same answer and changes nothing."""
        repair = self.current_repair()
        if self._decision is None and (repair is None or repair.decision is None):
            self._decision = decision
        action = repair.plan.action.value if repair else "the repair"
        if decision.approve:
            return DecisionAnswer(accepted=True, message=f"Approved by {decision.by}: running {action}")
        return DecisionAnswer(accepted=True, message=f"Rejected by {decision.by}: {action} will not run")

    @decide.validator
    def _check_decision(self, decision: Decision) -> None:
        """Refuse, before anything is recorded, a decision that has nothing to decide."""
        repair = self.current_repair()
        if repair is None:
            raise ValueError("this incident has no repair awaiting approval")
        if decision.approval_token is not None and decision.approval_token != repair.approval_token:
            raise ValueError("this button belongs to an earlier repair request")
        taken = self._decision or repair.decision
        if taken is not None:
            if same_decision(taken, decision):
                return
            verb = "approved" if taken.approve else "rejected"
            raise ValueError(f"already {verb} by {taken.by}")
        if repair.phase is not RepairPhase.AWAITING_APPROVAL:
            raise ValueError(f"nothing to decide: the repair is {repair.phase.value.replace('_', ' ')}")

    @workflow.update(name="own_card")
    async def own_card(self) -> CardPlacement:
        """On demand (``awoooi card <id>``, POST /api/v1/incidents/{id}/card): the incident's own
        card now, whatever the storm; answers where it is shown once the card is out.

        Run by the handler itself under the card lock, so it never races the main loop's card
        calls, and it never holds up a continue-as-new waiting for handlers to finish."""
        async with self._card_lock:
            state = self.require_state()
            if state.message_id is None:
                try:
                    await self._card_call(best_effort=False, force_own=True)
                except ActivityError as exc:
                    raise ApplicationError(f"the card could not be sent: {exc.cause or exc}",
                                           type="CardFailed") from exc
                state.card_dirty = False
                self._stamp_card_call(state, budgeted=True)
        return CardPlacement(message_id=state.message_id, digest_message_id=state.digest_message_id)

    @own_card.validator
    def _check_own_card(self) -> None:
        if self._state is None:
            raise ValueError("this incident has no card yet: its first delivery is still being handled")

    @workflow.query(name="state")
    def state(self) -> IncidentState | None:
        return self._state

    @workflow.run
    async def run(self, inp: IncidentWorkflowInput) -> IncidentOutcome:
        self._input = inp
        self._storm = workflow.patched(STORM_PATCH)
        self._digest = self._storm and workflow.patched(DIGEST_PATCH)
        if self._digest and workflow.patched(PATCHES_FIRST_PATCH):
            for patch_id in LATER_PATCHES:
                workflow.patched(patch_id)  # memoized: the later call sites read the same answer
            self.plan_local = workflow.patched(PLAN_LOCAL_PATCH) and inp.local_steps
            self._budget = workflow.patched(CARD_BUDGET_PATCH) and inp.card_budget_calls > 0
        self._shown_phase = workflow.info().typed_search_attributes.get(sa.REPAIR_PHASE)
        # ``handled`` counts per run: it decides when to continue as new.
        self._state = inp.state.model_copy(update={"handled": 0}) if inp.state else None
        self._inbox[:0] = inp.pending
        while True:
            # Deliveries already waiting come first: a resolution that arrived before a decision or
            # a deadline was handled must count as what happened first.
            if self._decision is not None and not self._inbox:
                decision, self._decision = self._decision, None
                await self._repairs.on_decision(decision)
                continue
            state = self._state
            resolved = state is not None and state.status is IncidentStatus.RESOLVED
            grace = 0 if self._probe else inp.resolve_grace_seconds  # probe-alerts-v1
            wait: float = grace if resolved else inp.idle_timeout_seconds
            why = "resolve grace (a flap re-opens the card)" if resolved else "idle expiry"
            deadline = self._repairs.seconds_to_deadline()
            if deadline is not None and deadline <= 0 and not self._inbox:
                await self._repairs.on_deadline()
                continue
            if resolved and wait <= 0 and not self._inbox:
                return self._outcome()
            if deadline is not None and 0 < deadline < wait:
                wait, why = deadline, self._repairs.deadline_name()
            card_due = self._card_due()  # storm-v1: count changes the card does not show yet
            if card_due is not None and card_due <= 0 and not self._inbox:
                await self.show_card(best_effort=True)
                continue
            if card_due is not None and card_due < wait:
                wait, why = card_due, "count changes wait for the next card edit"
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._decision is not None, timeout=timedelta(seconds=wait),
                    timeout_summary=why,
                )
            except asyncio.TimeoutError:
                if self._repairs.seconds_to_deadline() == 0:
                    await self._repairs.on_deadline()
                    continue
                card_due = self._card_due()
                if card_due is not None and card_due <= 0:
                    await self.show_card(best_effort=True)
                    continue
                if state is None:
                    return IncidentOutcome(incident_id=inp.incident_id, status="empty")
                if state.status is IncidentStatus.OPEN:
                    await self._expire(state)
                return self._outcome()
            if not self._inbox:
                continue  # woken by a decision
            if self._storm:
                batch, self._inbox = self._inbox, []
                finished = await self._handle_batch(batch)
            else:
                finished = await self._handle(self._inbox.pop(0))
            if finished:
                return self._outcome()
            if self._should_continue_as_new() and self._decision is None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(update={"state": self._state, "pending": list(self._inbox)})
                )

    # -- deliveries -------------------------------------------------------------------------

    async def _handle(self, delivery: AlertDelivery) -> bool:
        """Handle one delivery; True when the run should end (a duplicate resolution of nothing)."""
        state = self._state
        log = workflow.logger
        if state is not None and delivery.delivery_id in state.seen_deliveries:
            log.info("duplicate delivery dropped", extra={"delivery_id": delivery.delivery_id})
            return False
        if state is None:
            return await self._open(delivery)
        self._remember(delivery.delivery_id)
        if self._is_resent_firing(delivery):
            await self._resent_firing(delivery)
            return False
        await self._apply(delivery)
        return False

    async def _apply(self, delivery: AlertDelivery) -> None:
        """A delivery that changes the incident: counted, re-opened or resolved."""
        state = self.require_state()
        log = workflow.logger
        state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
        now = workflow.now()
        if delivery.alert.status is AlertStatus.FIRING:
            self._remember_occurrence(delivery)
            if state.status is not IncidentStatus.OPEN:
                log.info("incident re-opened", extra={"incident_id": state.incident_id})
                state.status = IncidentStatus.OPEN
                state.resolved_at = None
                await self._set_status(IncidentStatus.OPEN)
            state.occurrences += 1
            state.last_seen = now
        elif state.status is IncidentStatus.OPEN:
            state.status = IncidentStatus.RESOLVED
            state.resolved_at = delivery.alert.ends_at or now
            state.last_seen = now
            await self._set_status(IncidentStatus.RESOLVED)
            await self._repairs.on_resolved(delivery.received_at)
        else:
            # A second resolution of an already resolved incident: nothing changed.
            await self._save(delivery, count=False)
            return
        await self._save(delivery, count=delivery.alert.status is AlertStatus.FIRING)
        await self.show_card()
        await self._record(delivery)

    async def _handle_batch(self, deliveries: list[AlertDelivery]) -> bool:
        """storm-v1: drain the inbox at once. Repeats of an open incident fold into one save, one
        record and at most one card edit; a state change (re-open, resolve) is applied in its place
        in the order, after what came before it. True when the run should end."""
        fold = _Fold()
        for delivery in deliveries:
            state = self._state
            if state is None:
                if await self._open(delivery):
                    return True
                continue
            if delivery.delivery_id in state.seen_deliveries:
                workflow.logger.info("duplicate delivery dropped", extra={"delivery_id": delivery.delivery_id})
                continue
            self._remember(delivery.delivery_id)
            if self._is_resent_firing(delivery):
                if state.status is IncidentStatus.OPEN:
                    state.last_seen = workflow.now()
                    fold.seen.append(delivery.delivery_id)
                continue  # after a resolution: a late retry of the firing that was resolved
            if delivery.alert.status is AlertStatus.FIRING and state.status is IncidentStatus.OPEN:
                state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
                self._remember_occurrence(delivery)
                state.occurrences += 1
                state.last_seen = workflow.now()
                fold.counted.append(delivery.delivery_id)
                fold.last = delivery
                continue
            await self._flush(fold)
            fold = _Fold()
            await self._apply(delivery)
        await self._flush(fold)
        return False

    async def _flush(self, fold: _Fold) -> None:
        """One save for everything folded; the count shows on the card at its bounded rate."""
        if not fold.counted and not fold.seen:
            return
        state = self.require_state()
        try:
            state.frequency = await self._quick_step(
                IncidentActivities.save_batch,
                SaveBatchInput(view=state.view(), workflow_id=workflow.info().workflow_id,
                               lifecycle_id=state.lifecycle_id, counted=fold.counted, seen=fold.seen,
                               at=workflow.now()),
                summary=f"save the incident ({len(fold.counted)} counted, {len(fold.seen)} re-sent)",
            )
        except ActivityError as exc:
            workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})
        if fold.last is None:
            workflow.set_current_details(current_details(state.view(), state.repair))
            return
        state.card_dirty = True
        due = self._card_due()
        if due is not None and due <= 0:
            await self.show_card(best_effort=True)
        else:
            workflow.set_current_details(current_details(state.view(), state.repair))
        await self._record(fold.last)

    def _card_due(self) -> float | None:
        """Seconds until the card is due a call (<= 0: now): a count-only change waiting for the edit
        interval, or (digest-v1) a digested incident asking for its own card again; None: nothing."""
        state = self._state
        if not self._storm or state is None:
            return None
        own = self._own_due()
        if not state.card_dirty:
            return own
        if state.card_edited_at is None:
            return 0.0
        interval = self.require_input().card_edit_interval_seconds
        due = interval - (workflow.now() - state.card_edited_at).total_seconds()
        budget = self._budget_wait(state)
        if budget is not None:
            due = max(due, budget)
        return due if own is None else min(due, own)

    def _budget_wait(self, state: IncidentState) -> float | None:
        """card-budget-v1: seconds until a count-only change may cost the card another call: the
        card's budget-th latest call must have left the budget window. None: no budget applies."""
        inp = self.require_input()
        if not self._budget or len(state.card_calls) < inp.card_budget_calls:
            return None
        oldest = state.card_calls[-inp.card_budget_calls]
        return inp.card_budget_window_seconds - (workflow.now() - oldest).total_seconds()

    def _stamp_card_call(self, state: IncidentState, *, budgeted: bool) -> bool:
        """Every card call is stamped: the edit interval runs from the latest. The budget
        (card-budget-v1) runs from the latest few calls that surely reach Telegram: a first show and
        a count change. A state change is never held back by it, and its edit may change nothing on
        the card (an unchanged text is not sent), so it does not spend the budget. True when the
        call was stamped into the budget."""
        now = workflow.now()
        state.card_edited_at = now
        if not (self._budget and budgeted):
            return False
        state.card_calls.append(now)
        # One more than the budget: a paced-out call is taken back, and the ones before it still count.
        del state.card_calls[:-(self.require_input().card_budget_calls + 1)]
        return True

    def _own_due(self) -> float | None:
        """digest-v1: seconds until an open incident shown only as a digest line asks for its own card
        again (the storm may have passed); None when it has its own card or is closed."""
        state = self._state
        if (not self._digest or state is None or state.message_id is not None
                or state.digest_message_id is None or state.status is not IncidentStatus.OPEN):
            return None
        if state.own_asked_at is None:
            return 0.0
        # Each re-ask refused doubles the wait, up to 16 windows: only the threshold's worth of cards
        # is granted per window anyway, so 1,000 lines asking every minute would only cost CPU.
        wait = self.require_input().digest_window_seconds * 2 ** min(state.reasks, 4)
        return wait - (workflow.now() - state.own_asked_at).total_seconds()

    async def _quick_step(self, activity: Any, arg: Any, *, summary: str) -> Any:
        """A Valkey step of milliseconds: a local activity under storm-v1 when the workflow input asks
        for it (no extra workflow task per step), else a regular one (ADR 0003)."""
        if self._storm and self.require_input().local_steps:
            return await workflow.execute_local_activity_method(
                activity, arg, start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10), retry_policy=retries.API, summary=summary,
            )
        return await workflow.execute_activity_method(
            activity, arg, start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=10), retry_policy=retries.API, summary=summary,
        )

    async def _open(self, delivery: AlertDelivery) -> bool:
        inp = self.require_input()
        alert = delivery.alert
        self._repairs_enabled = workflow.patched(REPAIRS_PATCH)
        self._probe = is_probe(alert) and workflow.patched(PROBE_PATCH)
        if alert.status is AlertStatus.RESOLVED:
            # A resolution for an incident whose workflow already ended: a late duplicate.
            seen = await workflow.execute_activity_method(
                IncidentActivities.delivery_seen,
                DeliverySeenInput(delivery_id=delivery.delivery_id),
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.QUICK,
                summary="was this resolution handled?",
            )
            if seen:
                await self._set_status_raw("duplicate")
                return True
        analysis = await self._analyze(delivery)
        now = workflow.now()
        resolved = alert.status is AlertStatus.RESOLVED
        self._state = IncidentState(
            incident_id=inp.incident_id,
            anomaly_key=inp.anomaly_key,
            lifecycle_id=str(workflow.uuid4()),
            status=IncidentStatus.RESOLVED if resolved else IncidentStatus.OPEN,
            alert=alert,
            analysis=analysis,
            first_seen=alert.starts_at or now,
            last_seen=now,
            resolved_at=(alert.ends_at or now) if resolved else None,
        )
        self._remember(delivery.delivery_id)
        self._remember_occurrence(delivery)
        if resolved:
            await self._set_status(IncidentStatus.RESOLVED)
        await self._save(delivery, count=True)
        plan_repair = self._repairs_enabled and not resolved and not self._probe
        if plan_repair:
            await self._repairs.plan()
        await self.show_card()
        if not resolved and not self._probe:
            # A resolution with nothing before it needs no advice on the Sentry issue.
            await self._comment()
        await self._record(delivery)
        if plan_repair:
            await self._repairs.after_first_card()
        return False

    def _is_resent_firing(self, delivery: AlertDelivery) -> bool:
        state = self.require_state()
        return (
            delivery.occurrence_id is not None
            and delivery.occurrence_id in state.seen_occurrences
            and workflow.patched(OCCURRENCE_PATCH)
        )

    def _publish(self) -> None:
        """The incident as the Web UI shows it: current details, and the RepairPhase attribute."""
        state = self.require_state()
        workflow.set_current_details(current_details(state.view(), state.repair))
        phase = repair_phase(state.repair)
        if phase != self._shown_phase and workflow.patched(CONSOLE_PATCH):
            workflow.upsert_search_attributes([sa.REPAIR_PHASE.value_set(phase)])
            self._shown_phase = phase

    async def _resent_firing(self, delivery: AlertDelivery) -> None:
        """The same firing again: keep the incident's record fresh, count nothing, edit no card.

        After a resolution it is a late retry of the firing that was resolved (a new firing would
        carry a new startsAt), so it re-opens nothing."""
        state = self.require_state()
        if state.status is not IncidentStatus.OPEN:
            workflow.logger.info("late re-send of a resolved firing ignored",
                                 extra={"incident_id": state.incident_id, "delivery_id": delivery.delivery_id})
            return
        state.last_seen = workflow.now()
        workflow.set_current_details(current_details(state.view(), state.repair))
        await self._save(delivery, count=False)

    def _remember_occurrence(self, delivery: AlertDelivery) -> None:
        if delivery.occurrence_id is None or not workflow.patched(OCCURRENCE_PATCH):
            return
        seen = self.require_state().seen_occurrences
        if delivery.occurrence_id not in seen:
            seen.append(delivery.occurrence_id)
            del seen[:-SEEN_WINDOW]

    async def _expire(self, state: IncidentState) -> None:
        workflow.logger.info("incident expired without resolution", extra={"incident_id": state.incident_id})
        if self._repairs.seconds_to_deadline() is not None:
            # A decision or a verification still pending ends with the incident: say so, once.
            await self._repairs.on_deadline(expired=True)
        state.status = IncidentStatus.EXPIRED
        await self._set_status(IncidentStatus.EXPIRED)
        await self._save(None, count=False)
        await self.show_card()

    # -- steps ------------------------------------------------------------------------------

    async def _analyze(self, delivery: AlertDelivery) -> Analysis:
        attempt = self.require_input().analysis_timeout_seconds if self._repairs_enabled else 60
        inp = self.require_input()
        try:
            if self._storm and inp.local_steps and not inp.llm_enabled:
                # The rule analysis is CPU for a millisecond: no task round trip for it (ADR 0003).
                return await workflow.execute_local_activity_method(
                    AnalysisActivities.analyze,
                    AnalyzeInput(alert=delivery.alert, anomaly_key=inp.anomaly_key),
                    start_to_close_timeout=timedelta(seconds=attempt),
                    schedule_to_close_timeout=timedelta(seconds=max(300, 3 * attempt)),
                    retry_policy=retries.QUICK,
                    summary="analyze the alert (rules)",
                )
            return await workflow.execute_activity_method(
                AnalysisActivities.analyze,
                AnalyzeInput(alert=delivery.alert, anomaly_key=self.require_input().anomaly_key),
                start_to_close_timeout=timedelta(seconds=attempt),
                # Room for three attempts however long the LLM may take (the rules answer each time).
                schedule_to_close_timeout=timedelta(seconds=max(300, 3 * attempt)),
                # The LLM analyzer heartbeats while it waits, so a dead worker is noticed in seconds.
                heartbeat_timeout=timedelta(seconds=20) if self._repairs_enabled else None,
                retry_policy=retries.QUICK,
                summary="analyze the alert",
            )
        except ActivityError as exc:
            workflow.logger.warning("analysis failed, using fallback", extra={"error": str(exc.cause or exc)})
            return fallback_analysis(type(exc.cause or exc).__name__)

    async def _save(self, delivery: AlertDelivery | None, *, count: bool) -> None:
        state = self.require_state()
        delivery_id = delivery.delivery_id if delivery else f"{state.lifecycle_id}:{state.status.value}"
        if self._storm:
            try:
                state.frequency = await self._quick_step(
                    IncidentActivities.save,
                    SaveIncidentInput(view=state.view(), workflow_id=workflow.info().workflow_id,
                                      lifecycle_id=state.lifecycle_id, delivery_id=delivery_id,
                                      count_occurrence=count, at=workflow.now()),
                    summary="save the incident",
                )
            except ActivityError as exc:
                workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})
            return
        try:
            state.frequency = await workflow.execute_activity_method(
                IncidentActivities.save,
                SaveIncidentInput(
                    view=state.view(),
                    workflow_id=workflow.info().workflow_id,
                    lifecycle_id=state.lifecycle_id,
                    delivery_id=delivery_id,
                    count_occurrence=count,
                    at=workflow.now(),
                ),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.API,
                summary="save the incident",
            )
        except ActivityError as exc:
            # The card matters more than the record: go on, and say so in the log.
            workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})

    async def show_card(self, *, best_effort: bool = False) -> None:
        """Post the card once, then edit it in place (with Approve/Reject while a repair waits).

        Every visible change passes here, so the Web UI's view of the incident follows too.
        ``best_effort``: only counts changed (storm-v1); Telegram's pacing may skip it."""
        self._publish()
        async with self._card_lock:
            if self._storm:
                await self._show_paced(best_effort)
                return
            try:
                await self._card_call(best_effort=False)
            except ActivityError as exc:
                # Never fail the incident because the chat is down; the next update tries again.
                workflow.logger.error("telegram card failed", extra={"error": str(exc.cause or exc)})

    async def _card_call(self, *, best_effort: bool, force_own: bool = False) -> None:
        """Post the card if it has none yet (digest-v1: place it), else edit it (raising ActivityError)."""
        state = self.require_state()
        if state.message_id is None and self._digest:
            await self._place(best_effort=best_effort, force_own=force_own)
            return
        if state.message_id is None:
            state.message_id = await workflow.execute_activity_method(
                TelegramActivities.post_card,
                CardInput(view=state.view(), card_key=self._card_key(), repair=state.repair, probe=self._probe),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=15),
                retry_policy=retries.API,
                summary="post card",
            )
            return
        replacement = await workflow.execute_activity_method(
            TelegramActivities.edit_card,
            EditCardInput(view=state.view(), message_id=state.message_id, card_key=self._card_key(),
                          repair=state.repair, probe=self._probe, best_effort=best_effort),
            start_to_close_timeout=timedelta(seconds=30),
            # A count edit that cannot go soon is overtaken by the next one.
            schedule_to_close_timeout=timedelta(minutes=1 if best_effort else 15),
            retry_policy=retries.API,
            summary="edit card (count)" if best_effort else "edit card",
        )
        if replacement is not None:
            state.message_id = replacement

    async def _place(self, *, best_effort: bool, force_own: bool) -> None:
        """digest-v1: show an incident that has no card of its own: its own card, or in a storm its
        line in the chat's digest. It asks for its own card on its first placement, on a state
        change, once its re-ask wait has passed (a window, doubling), and on demand; a count-only
        change just updates its line."""
        state = self.require_state()
        due = self._own_due()
        # Only a count change of an incident already shown as a line, before its re-ask, stays a line
        # update; a first show that failed earlier asks for its own card like any first show.
        just_a_line = best_effort and state.digest_message_id is not None and (due is None or due > 0)
        own = force_own or not just_a_line
        placement = await workflow.execute_activity_method(
            TelegramActivities.place_card,
            PlaceCardInput(view=state.view(), card_key=self._card_key(), repair=state.repair,
                           probe=self._probe, own_card=own, force_own=force_own,
                           reask=state.digest_message_id is not None),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=1 if best_effort and not own else 15),
            retry_policy=retries.API,
            summary="own card (on demand)" if force_own else "place card" if own else "update digest line",
        )
        if own:
            state.own_asked_at = workflow.now()
            if placement.message_id is None and state.digest_message_id is not None:
                state.reasks += 1
        if placement.message_id is not None:
            state.message_id = placement.message_id
        elif placement.digest_message_id is not None:
            state.digest_message_id = placement.digest_message_id

    async def _show_paced(self, best_effort: bool) -> None:
        """storm-v1: every card call is stamped, so count-only edits keep AWOOOI_CARD_EDIT_INTERVAL;
        one that fails or is paced out leaves the card dirty and is tried again at the next interval."""
        state = self.require_state()
        budgeted = self._stamp_card_call(state, budgeted=best_effort or state.message_id is None)
        try:
            await self._card_call(best_effort=best_effort)
            state.card_dirty = False
        except ActivityError as exc:
            state.card_dirty = True
            cause = exc.cause
            paced = isinstance(cause, ApplicationError) and cause.type == "Paced"
            if paced:
                if budgeted:  # card-budget-v1: nothing reached Telegram, nothing spent
                    state.card_calls.pop()
                workflow.logger.info("count edit paced out; next interval", extra={"incident_id": state.incident_id})
            else:
                workflow.logger.error("telegram card failed; tried again at the next interval",
                                      extra={"error": str(cause or exc)})

    async def _comment(self) -> None:
        state = self.require_state()
        ref = state.alert.sentry
        if ref is None or not ref.issue_id:
            return
        try:
            state.sentry_comment = await workflow.execute_activity_method(
                SentryActivities.post_comment,
                SentryCommentInput(
                    view=state.view(), comment_key=f"{ref.issue_id}:{state.lifecycle_id}", at=workflow.now()
                ),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=30),
                retry_policy=retries.API,
                summary="comment on the Sentry issue",
            )
        except ActivityError as exc:
            state.sentry_comment = "failed"
            workflow.logger.error("sentry comment failed", extra={"error": str(exc.cause or exc)})

    async def _record(self, delivery: AlertDelivery) -> None:
        if self._probe:
            return  # probe-alerts-v1: a probe teaches nothing
        state = self.require_state()
        record = LearningRecordInput(
            incident_id=state.incident_id,
            anomaly_key=state.anomaly_key,
            delivery_id=delivery.delivery_id,
            status=state.status,
            analysis=state.analysis,
            occurrences=state.occurrences,
            at=workflow.now(),
        )
        try:
            if self._storm:
                await self._quick_step(LearningActivities.record, record, summary="record for learning")
                return
            await workflow.execute_activity_method(
                LearningActivities.record,
                record,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.API,
                summary="record for learning",
            )
        except ActivityError as exc:
            workflow.logger.error("learning record failed", extra={"error": str(exc.cause or exc)})

    # -- helpers ----------------------------------------------------------------------------

    async def _set_status(self, status: IncidentStatus) -> None:
        await self._set_status_raw(status.value)

    async def _set_status_raw(self, status: str) -> None:
        workflow.upsert_search_attributes([sa.INCIDENT_STATUS.value_set(status)])

    def _card_key(self) -> str:
        state = self.require_state()
        return f"{state.incident_id}:{state.lifecycle_id}"

    def _remember(self, delivery_id: str) -> None:
        state = self.require_state()
        state.seen_deliveries.append(delivery_id)
        del state.seen_deliveries[:-SEEN_WINDOW]
        state.handled += 1

    def _should_continue_as_new(self) -> bool:
        state = self._state
        if state is None:
            return False
        limit = self.require_input().max_deliveries_per_run
        return workflow.info().is_continue_as_new_suggested() or state.handled >= limit

    def _outcome(self) -> IncidentOutcome:
        inp = self.require_input()
        state = self._state
        if state is None:
            return IncidentOutcome(incident_id=inp.incident_id, status="duplicate")
        return IncidentOutcome(
            incident_id=state.incident_id,
            status=state.status.value,
            occurrences=state.occurrences,
            message_id=state.message_id,
        )

    def current_repair(self) -> RepairState | None:
        return self._state.repair if self._state is not None else None

    def require_state(self) -> IncidentState:
        assert self._state is not None, "no incident state yet"
        return self._state

    def require_input(self) -> IncidentWorkflowInput:
        assert self._input is not None
        return self._input
