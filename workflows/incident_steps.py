"""Carries out the incident core's commands: activities, search attributes, log lines.

The core (core/incident/) decides; this runs what it decided, one command at a time, and sends each
result back into the step. Every activity failure becomes a :class:`Failed` result in one place, so
the core decides what a failure means (a fallback analysis, a card tried again later) instead of
every call site catching ``ActivityError``.

Local or not (docs/adr/0003-local-activities.md): a quick command (Valkey for milliseconds, the rule
analysis) runs as a local activity when AWOOOI_LOCAL_STEPS is on, but only before the step's first
regular activity. After one, the rest of the step runs as regular activities: code that runs after a
local activity may run in a later workflow task on the original execution than on replay
(docs/adr/0020), and only then does that not matter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.incident.commands import (
        Analyze,
        Budget,
        Call,
        CheckSeen,
        Comment,
        EditCard,
        Escalate,
        Execute,
        Failed,
        LearnRepair,
        Log,
        Observe,
        PlaceCard,
        Publish,
        Recommend,
        Record,
        Renotify,
        Save,
        SaveBatch,
        SetAcked,
        SetStatus,
        Step,
        queue_priority,
    )
    from core import priority
    from core.incident.silencing import AskVerdict, CreateSilence, ExpireSilence, SetSilenced
    from core.incident.flapping import SetFlapping
    from core.silence_inputs import SilenceVerdict
    from core.incident.state import IncidentSettings
    from core.inputs import BudgetStatus, CardPlacement, RepairPlanAnswer
    from core.learning import RecordOutcome
    from core.models import Analysis, Frequency
    from core.repair import RepairResult

from workflows import retries

SETTINGS_ACTIVITY = "incident_settings"


class _Spec:
    """How one kind of command is called: activity name, result type, timeouts, retries."""

    __slots__ = ("name", "result", "start_to_close", "schedule_to_close", "retry", "best_effort_schedule")

    def __init__(self, name: str, result: Any, start_to_close: float, schedule_to_close: float, retry: RetryPolicy,
                 best_effort_schedule: float | None = None) -> None:
        self.name = name
        self.result = result
        self.start_to_close = start_to_close
        self.schedule_to_close = schedule_to_close
        self.retry = retry
        # A count-only card call that cannot go soon is overtaken by the next one.
        self.best_effort_schedule = best_effort_schedule


_MIN = 60.0
SPECS: dict[type[Call], _Spec] = {
    CheckSeen: _Spec("delivery_seen", bool, 10, 10 * _MIN, retries.QUICK),
    Save: _Spec("save_incident", Frequency, 30, 10 * _MIN, retries.API),
    SaveBatch: _Spec("save_incident_batch", Frequency, 30, 10 * _MIN, retries.API),
    Record: _Spec("record_for_learning", bool, 30, 10 * _MIN, retries.API),
    Recommend: _Spec("recommend_repair", RepairPlanAnswer, 30, 2 * _MIN, retries.QUICK),
    Budget: _Spec("repair_budget", BudgetStatus, 30, 2 * _MIN, retries.QUICK),
    PlaceCard: _Spec("place_card", CardPlacement, 30, 15 * _MIN, retries.API, best_effort_schedule=_MIN),
    EditCard: _Spec("edit_card", str | None, 30, 15 * _MIN, retries.API, best_effort_schedule=_MIN),
    Escalate: _Spec("escalate", str | None, 30, 15 * _MIN, retries.QUICK),
    Comment: _Spec("post_sentry_comment", str, 30, 30 * _MIN, retries.API),
    Execute: _Spec("execute_repair", RepairResult, 2 * _MIN, 10 * _MIN, retries.EXECUTE),
    LearnRepair: _Spec("record_repair_result", RecordOutcome, 30, 30 * _MIN, retries.QUICK),
    Renotify: _Spec("renotify", str | None, 30, 15 * _MIN, retries.API),
    Observe: _Spec("observe_incident", bool, 10, 10 * _MIN, retries.QUICK),
    # Silenced incidents (core/incident/silencing.py): a verdict that cannot be had soon silences nothing.
    AskVerdict: _Spec("silence_verdict", SilenceVerdict, 10, 2 * _MIN, retries.QUICK),
    CreateSilence: _Spec("silence_create", str, 30, 10 * _MIN, retries.API),
    ExpireSilence: _Spec("silence_expire", bool, 30, 30 * _MIN, retries.API),
}
ANALYZE = "analyze_alert"


class StepRun:
    """What running one step did: how many activities it called, and whether the last was local."""

    __slots__ = ("calls", "last_local")

    def __init__(self) -> None:
        self.calls = 0
        self.last_local = False


class IncidentSteps:
    def __init__(self, settings: IncidentSettings, shown_phase: str | None) -> None:
        self._settings = settings
        # The RepairPhase search attribute as last set, so it is upserted only when it changes.
        self._shown_phase = shown_phase

    async def run(self, step: Step) -> StepRun:
        done = StepRun()
        result: Any = None
        regular_called = False
        while True:
            try:
                command = step.send(result)
            except StopIteration:
                return done
            result = None
            if isinstance(command, Call):
                local = command.quick and not regular_called and self._local(command)
                result = await self._call(command, local)
                if isinstance(command, Execute) and isinstance(result, RepairResult):
                    # The verify window runs on the workflow's clock from when the repair's answer
                    # arrived (read after a regular activity: the same on replay), not the worker's.
                    result = result.model_copy(update={"finished_at": workflow.now()})
                done.calls += 1
                done.last_local = local
                regular_called = regular_called or not local
            elif isinstance(command, SetStatus):
                workflow.upsert_search_attributes([sa.INCIDENT_STATUS.value_set(command.status)])
            elif isinstance(command, SetAcked):
                workflow.upsert_search_attributes([sa.ACKED.value_set("true" if command.acked else "false")])
            elif isinstance(command, Publish):
                workflow.set_current_details(command.details)
                if command.phase != self._shown_phase:
                    workflow.upsert_search_attributes([sa.REPAIR_PHASE.value_set(command.phase)])
                    self._shown_phase = command.phase
            elif isinstance(command, SetSilenced):
                value = sa.cut_to_bytes(command.value)
                workflow.upsert_search_attributes([sa.SILENCED.value_set(value) if value else sa.SILENCED.value_unset()])
            elif isinstance(command, SetFlapping):
                workflow.upsert_search_attributes([sa.FLAPPING.value_set("true") if command.flapping
                                                   else sa.FLAPPING.value_unset()])
            elif isinstance(command, Log):
                getattr(workflow.logger, command.level)(command.message, extra=command.fields)
            else:  # pragma: no cover - a command the core added and this file forgot
                raise TypeError(f"unknown command {command!r}")

    def _local(self, command: Call) -> bool:
        if not self._settings.local_steps:
            return False
        # The LLM analysis takes seconds and heartbeats: a regular activity, visible with its attempts.
        return not (isinstance(command, Analyze) and self._settings.llm_enabled)

    async def _call(self, command: Call, local: bool) -> Any:
        name, result_type, start, schedule, retry, heartbeat = self._options(command)
        try:
            if local:
                return await workflow.execute_local_activity(
                    name, command.inp, result_type=result_type, start_to_close_timeout=timedelta(seconds=start),
                    schedule_to_close_timeout=timedelta(seconds=schedule), retry_policy=retry,
                    summary=command.summary)
            return await workflow.execute_activity(
                name, command.inp, result_type=result_type, start_to_close_timeout=timedelta(seconds=start),
                schedule_to_close_timeout=timedelta(seconds=schedule), retry_policy=retry,
                heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat else None, summary=command.summary,
                priority=self._priority(command))
        except ActivityError as exc:
            return failed(exc)

    @staticmethod
    def _priority(command: Call) -> Priority:
        """Said in full (key and the incident's fairness key), so the activity and the chat gate see
        it whatever the server fills in by inheritance (core/priority.py)."""
        own = workflow.info().priority
        return Priority(priority_key=queue_priority(command, own.priority_key or priority.FIRST_WORDS),
                        fairness_key=own.fairness_key)

    def _options(self, command: Call) -> tuple[str, Any, float, float, RetryPolicy, float | None]:
        if isinstance(command, Analyze):
            attempt = self._settings.analysis_timeout_seconds
            # Room for three attempts however long the LLM may take (the rules answer each time); the
            # LLM analyzer heartbeats while it waits, so a dead worker is noticed in seconds.
            return ANALYZE, Analysis, attempt, max(300.0, 3 * attempt), retries.QUICK, 20.0
        spec = SPECS[type(command)]
        schedule = spec.best_effort_schedule if command.best_effort and spec.best_effort_schedule else \
            spec.schedule_to_close
        return spec.name, spec.result, spec.start_to_close, schedule, spec.retry, None


def failed(exc: ActivityError) -> Failed:
    """What the core is told of an activity whose retries ran out."""
    cause = exc.cause or exc
    if isinstance(cause, ApplicationError) and cause.type == "Paced":
        return Failed("Paced", str(cause))
    return Failed(type(cause).__name__, str(cause))


async def read_settings(defaults: Callable[[], IncidentSettings]) -> IncidentSettings:
    """The worker's incident settings, recorded in this run's history (a local activity), so a
    replay decides with the values the run had."""
    try:
        return await workflow.execute_local_activity(
            SETTINGS_ACTIVITY, result_type=IncidentSettings, start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(hours=1), retry_policy=retries.QUICK,
            summary="the worker's incident settings")
    except ActivityError as exc:
        workflow.logger.error("incident settings unavailable; using the defaults", extra={"error": str(exc.cause)})
        return defaults()
