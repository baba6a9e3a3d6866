"""Histories in, timeline out: every run of an incident's workflow, decoded in order.

Pure: it reads history events (protobuf, as the SDK fetches them or as tests/histories/ keeps them)
and no clock, no server. Each run is read in its generation's vocabulary (core/timeline/vocabulary.py,
core/timeline/generation1.py); the incident's facts are carried from run to run as the workflow
carries them across continue-as-new, so a continued incident reads as one story. What a person
needs is one entry per meaningful event; the workflow's own mechanics (workflow tasks, timers,
saves, settings, patch markers) are not entries, and retries and paced-out card edits are summarised
(``count``, "after N attempts"). Anything not understood becomes an ``unknown`` entry saying what
it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.api.history.v1 import HistoryEvent

from core.timeline import model as k
from core.timeline.deliveries import IncidentTrack
from core.timeline.events import attributes, event_time, event_type, first_payload, payload
from core.timeline.generation1 import GENERATION_1
from core.timeline.model import RunInfo, Timeline, TimelineEntry
from core.timeline.repair_track import RepairTrack
from core.timeline.summarise import summarise
from core.timeline import vocabulary as v
from core.timeline.vocabulary import GENERATION_2, Vocabulary

VOCABULARIES: dict[str, Vocabulary] = {voc.workflow_type: voc for voc in (GENERATION_2, GENERATION_1)}

# Events that are the workflow's mechanics, never entries.
_MECHANICS = frozenset({
    "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED", "WORKFLOW_TASK_TIMED_OUT",
    "WORKFLOW_TASK_FAILED", "TIMER_FIRED", "TIMER_CANCELED", "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    "WORKFLOW_EXECUTION_UPDATE_ADMITTED", "ACTIVITY_TASK_CANCEL_REQUESTED", "ACTIVITY_TASK_CANCELED",
    "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
})
_ENDS = {
    "WORKFLOW_EXECUTION_COMPLETED": "completed", "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "continued_as_new",
    "WORKFLOW_EXECUTION_TERMINATED": "terminated", "WORKFLOW_EXECUTION_FAILED": "failed",
    "WORKFLOW_EXECUTION_TIMED_OUT": "timed_out", "WORKFLOW_EXECUTION_CANCELED": "canceled",
}


@dataclass
class RunHistory:
    """One run's events, as fetched (``WorkflowHistory.events``) or read from a recorded file."""

    workflow_id: str
    run_id: str
    events: Sequence[HistoryEvent]


@dataclass
class _Pending:
    name: str
    meaning: str
    inp: Any
    scheduled_id: int
    attempt: int = 1


def decode(incident_id: str, runs: Iterable[RunHistory]) -> Timeline:
    """The timeline of an incident from its runs, oldest first (lifecycles and continue-as-new)."""
    decoder = _Decoder()
    for run in runs:
        decoder.run(run)
    return Timeline(incident_id=incident_id, runs=decoder.runs, entries=summarise(decoder.entries))


class _Decoder:
    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []
        self.runs: list[RunInfo] = []
        self.track = IncidentTrack()
        self.repair = RepairTrack()
        self._voc: Vocabulary = GENERATION_2
        self._run: RunInfo | None = None
        self._activities: dict[int, _Pending] = {}
        self._event: HistoryEvent | None = None
        self._anomaly_key = ""
        self._digest_line: tuple[Any, Any] | None = None
        # The last re-open of this run, until an analysis shows it was a new lifecycle (or a run starts).
        self._reopened: tuple[int, str, str, dict[str, Any]] | None = None

    # -- runs and events ----------------------------------------------------------------------

    def run(self, history: RunHistory) -> None:
        self._run = RunInfo(workflow_id=history.workflow_id, run_id=history.run_id, workflow_type="", generation=0,
                            events=len(history.events))
        self.runs.append(self._run)
        self._activities = {}
        for event in history.events:
            self._event = event
            try:
                self._one(event)
            except Exception as exc:  # noqa: BLE001 - a payload of an unexpected shape: say so, go on
                self._add(k.UNKNOWN, detail=f"{event_type(event)} (event {event.event_id}) could not be read: "
                                            f"{type(exc).__name__}: {exc}"[:300])

    def _one(self, event: HistoryEvent) -> None:
        kind = event_type(event)
        attrs = attributes(event)
        assert self._run is not None
        if kind in _MECHANICS:
            return
        if kind == "WORKFLOW_EXECUTION_STARTED":
            self._started(attrs)
        elif kind in _ENDS:
            self._ended(kind, attrs)
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            self._signal(attrs.signal_name, first_payload(attrs.input))
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            request = attrs.accepted_request
            self._update(request.input.name, first_payload(request.input.args), request.meta.identity)
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            name = attrs.activity_type.name
            self._activities[event.event_id] = _Pending(name, self._voc.activities.get(name, ""),
                                                        first_payload(attrs.input), event.event_id)
        elif kind == "ACTIVITY_TASK_STARTED":
            pending = self._activities.get(attrs.scheduled_event_id)
            if pending is not None:
                pending.attempt = attrs.attempt
        elif kind == "ACTIVITY_TASK_COMPLETED":
            pending = self._activities.pop(attrs.scheduled_event_id, None)
            if pending is not None:
                self._activity(pending, first_payload(attrs.result), None)
        elif kind in ("ACTIVITY_TASK_FAILED", "ACTIVITY_TASK_TIMED_OUT"):
            pending = self._activities.pop(attrs.scheduled_event_id, None)
            if pending is not None:
                self._activity(pending, None, attrs.failure)
        elif kind == "MARKER_RECORDED":
            self._marker(attrs)
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            for name, value in attrs.search_attributes.indexed_fields.items():
                self._search_attribute(name, payload(value))
        elif kind == "TIMER_STARTED":
            self._run.timers += 1
        else:
            self._add(k.UNKNOWN, detail=f"history event {kind} (event {event.event_id}) is not one this "
                                        f"decoder knows")

    def _started(self, attrs: Any) -> None:
        assert self._run is not None
        type_name = attrs.workflow_type.name
        self._run.workflow_type = type_name
        self._run.started_at = self._time()
        voc = VOCABULARIES.get(type_name)
        if voc is None:
            self._add(k.UNKNOWN, detail=f"workflow type {type_name!r} has no vocabulary; read as generation 2")
            voc = GENERATION_2
        self._voc = voc
        self._run.generation = voc.generation
        start = first_payload(attrs.input)
        if isinstance(start, dict):
            self._anomaly_key = str(start.get("anomaly_key") or self._anomaly_key)
        state, pending = voc.carried(start)
        if state is None:
            # A fresh run is a new lifecycle: the workflow starts from nothing, so does the track.
            self._reopened = None
            self.track.reset()
            self.repair.reset()
            return
        self.track.carry(state)
        self.repair.carry(state.get("repair"))
        if pending:
            self._deliveries(pending)

    def _ended(self, kind: str, attrs: Any) -> None:
        assert self._run is not None
        self._run.ended = _ENDS[kind]
        self._run.closed_at = self._time()
        if kind == "WORKFLOW_EXECUTION_TERMINATED":
            self._add(k.TERMINATED, actor=attrs.identity or "someone", detail=attrs.reason or "terminated")
        elif kind in ("WORKFLOW_EXECUTION_FAILED", "WORKFLOW_EXECUTION_TIMED_OUT", "WORKFLOW_EXECUTION_CANCELED"):
            self._add(k.TERMINATED, detail=f"the run ended: {_ENDS[kind]}")
        if kind != "WORKFLOW_EXECUTION_CONTINUED_AS_NEW":
            self.track.status = None

    # -- what reached the workflow ------------------------------------------------------------

    def _signal(self, name: str, value: Any) -> None:
        meaning = self._voc.signals.get(name)
        if meaning == v.BATCH and isinstance(value, dict):
            self._deliveries([d for d in value.get("deliveries") or [] if isinstance(d, dict)])
        elif meaning == v.SINGLE and isinstance(value, dict):
            self._deliveries([value])
        elif meaning != v.QUIET:
            self._add(k.UNKNOWN, detail=f"signal {name!r} is not one generation {self._voc.generation} knows")

    def _deliveries(self, deliveries: list[dict[str, Any]]) -> None:
        for change in self.track.apply(deliveries):
            alert = change.delivery.get("alert") or {}
            source = str(alert.get("source") or "sender")
            if change.kind == "fired":
                self._reopened = None
                self._add(k.FIRED, actor=source, detail=_describe_alert(alert), facts=self._fired_facts(alert))
            elif change.kind == "occurrences":
                resent = f"; {change.resent} re-sent" if change.resent else ""
                self._add(k.OCCURRENCES, actor=source, count=1,
                          detail=f"{change.counted} counted ({self.track.occurrences} in all){resent}",
                          facts={"counted": change.counted, "occurrences": self.track.occurrences})
            elif change.kind == "reopened":
                self._add(k.REOPENED, actor=source, detail=f"fired again: occurrence {self.track.occurrences}",
                          facts={"occurrences": self.track.occurrences})
                # A new lifecycle inside the same run looks the same here (a firing after the resolve
                # grace, docs/adr/0031); the analysis that only a new lifecycle asks for tells them
                # apart (:meth:`_new_lifecycle`).
                self._reopened = (len(self.entries) - 1, source, _describe_alert(alert), self._fired_facts(alert))
            else:
                first = " (first heard of as resolved)" if self.track.occurrences == 0 else ""
                self._add(k.RESOLVED, actor=source, detail=f"the alert resolved{first}; ends at "
                                                          f"{alert.get('ends_at') or 'unknown'}",
                          facts={"ends_at": alert.get("ends_at")})

    def _update(self, name: str, value: Any, identity: str) -> None:
        meaning = self._voc.updates.get(name)
        value = value if isinstance(value, dict) else {}
        if meaning == v.DECIDE:
            approve = bool(value.get("approve"))
            note = f": {value['note']}" if value.get("note") else ""
            action = self.repair.action or "the repair"
            self._add(k.APPROVED if approve else k.REJECTED, actor=str(value.get("by") or identity),
                      via=value.get("via"), detail=f"{action} {'approved' if approve else 'rejected'}{note}",
                      facts={"action": self.repair.action, "repair_id": self.repair.repair_id})
        elif meaning == v.OWN_CARD:
            self._add(k.CARD_REQUESTED, actor=identity or "someone", detail="its own card, on demand")
        elif meaning in (v.ACK, v.SILENCE):
            # Read like a Decision, whatever else the input carries. The same person acking again
            # changed nothing (docs/adr/0025): one entry, not two.
            actor = str(value.get("by") or identity or "someone")
            if meaning == v.ACK and self._acked_in_lifecycle(actor):
                return
            until = f" until {value['until']}" if value.get("until") else ""
            note = f": {value['note']}" if value.get("note") else ""
            self._add(k.ACKED if meaning == v.ACK else k.SILENCED, actor=str(value.get("by") or identity or "someone"),
                      via=value.get("via"), detail=f"{'acknowledged' if meaning == v.ACK else 'silenced'}{until}{note}")
        else:
            self._add(k.UNKNOWN, detail=f"update {name!r} is not one generation {self._voc.generation} knows")

    # -- what the workflow did ----------------------------------------------------------------

    def _marker(self, attrs: Any) -> None:
        meaning = self._voc.markers.get(attrs.marker_name)
        if meaning == v.QUIET:
            return
        if meaning != v.LOCAL_ACTIVITY:
            self._add(k.UNKNOWN, detail=f"marker {attrs.marker_name!r} is not one this decoder knows")
            return
        data = first_payload(attrs.details["data"]) if "data" in attrs.details else None
        data = data if isinstance(data, dict) else {}
        name = str(data.get("activity_type") or "")
        result = first_payload(attrs.details["result"]) if "result" in attrs.details else None
        pending = _Pending(name, self._voc.activities.get(name, ""), None, 0, int(data.get("attempt") or 1))
        self._activity(pending, result, attrs.failure if attrs.HasField("failure") else None)

    def _activity(self, act: _Pending, result: Any, failure: Any) -> None:
        assert self._run is not None
        self._run.retries += max(act.attempt - 1, 0)
        if not act.meaning:
            self._add(k.UNKNOWN, detail=f"activity {act.name!r} is not one generation {self._voc.generation} knows")
            return
        if failure is not None:
            self._failed(act, failure)
            return
        inp = act.inp if isinstance(act.inp, dict) else {}
        tries = f" (after {act.attempt} attempts)" if act.attempt > 1 else ""
        if act.meaning in (v.PLACE_CARD, v.EDIT_CARD, v.POST_CARD):
            self._card(act.meaning, inp, result, tries)
        elif act.meaning == v.ANALYSE and isinstance(result, dict):
            self._new_lifecycle()
            self._add(k.ANALYSED, actor=str(result.get("analyzed_by") or "awoooi"),
                      detail=f"{result.get('category')}: {result.get('root_cause')} "
                             f"(confidence {_percent(result.get('confidence'))})",
                      facts={key: result.get(key) for key in ("category", "root_cause", "impact", "fix_suggestion",
                                                              "failure_mode", "rule_id", "confidence")})
        elif act.meaning == v.RECOMMEND and isinstance(result, dict):
            self.repair.recommended(result.get("recommendation"))
        elif act.meaning == v.ESCALATE:
            kind = str(inp.get("escalation_key", "")).rsplit(":", 1)[-1]
            self._add(k.ESCALATED, detail=f"{inp.get('reason') or 'people asked to step in'}{tries}",
                      facts={"why": kind})
        elif act.meaning == v.RENOTIFY:
            minutes = round(float(inp.get("unacked_seconds") or 0) / 60)
            if inp.get("escalation"):
                self._add(k.ESCALATED, detail=f"unacknowledged for {minutes} min: posted to the escalation chat{tries}",
                          facts={"why": "unacknowledged"})
            else:
                self._add(k.RENOTIFIED, detail=f"re-notified ({inp.get('n')}): unacknowledged for {minutes} min{tries}",
                          facts={"n": inp.get("n")})
        elif act.meaning == v.COMMENT:
            self._add(k.COMMENTED, actor="awoooi", via="sentry", detail=f"analysis on the Sentry issue ({result}){tries}")
        elif act.meaning == v.EXECUTE:
            self._executed(inp.get("request") or {}, result if isinstance(result, dict) else {}, tries)
        elif act.meaning == v.LEARN:
            self._learned(inp.get("record") or {}, result if isinstance(result, dict) else {})

    def _card(self, meaning: str, inp: dict[str, Any], result: Any, tries: str) -> None:
        for entry in self.repair.seen(inp.get("repair")):
            self._add(entry.kind, detail=entry.detail, facts=entry.facts)
        view = inp.get("view") or {}
        facts = {"status": view.get("status"), "occurrences": view.get("occurrences")}
        if meaning == v.EDIT_CARD:
            count = " (count)" if inp.get("best_effort") else ""
            replaced = f"; the card had been deleted, sent again as {result}" if isinstance(result, str) else ""
            self._add(k.CARD_EDITED, detail=f"{view.get('status')}, {view.get('occurrences')} occurrences"
                                            f"{self.repair.on_card()}{count}{replaced}{tries}", facts=facts)
            return
        placed = result if isinstance(result, dict) else {"message_id": result}
        message, digest = placed.get("message_id"), placed.get("digest_message_id")
        if message is None and digest is None:
            return
        facts["message_id"] = message
        if message is None:
            if inp.get("reask"):
                return  # asked for its own card again and stayed a line: nothing new to see
            if (view.get("incident_id"), digest) == self._digest_line:
                self._add(k.CARD_EDITED, detail=f"its line in the storm digest (message {digest}): "
                                                f"{view.get('occurrences')} occurrences{tries}", facts=facts)
            else:
                self._add(k.CARD_SHOWN, detail=f"as a line of the chat's storm digest (message {digest}){tries}",
                          facts=facts)
            self._digest_line = (view.get("incident_id"), digest)
            return
        if inp.get("force_own"):
            self._add(k.CARD_SHOWN, detail=f"its own card (message {message}), on demand{tries}", facts=facts)
        elif inp.get("reask"):
            self._add(k.RENOTIFIED, detail=f"its own card (message {message}) after being a digest line{tries}",
                      facts=facts)
        else:
            self._add(k.CARD_SHOWN, detail=f"card (message {message}): {view.get('status')}, "
                                           f"{view.get('occurrences')} occurrences{self.repair.on_card()}{tries}",
                      facts=facts)

    def _executed(self, request: dict[str, Any], result: dict[str, Any], tries: str) -> None:
        status = result.get("status")
        kind = {"executed": k.EXECUTED, "simulated": k.DRY_RUN, "failed": k.REPAIR_FAILED}.get(status, k.NOT_RUN)
        by = str(request.get("requested_by") or "awoooi")
        operations = "; ".join(result.get("operations") or [])
        detail = f"{request.get('action')} by {result.get('executor')}: {status}"
        detail += f" ({result['detail']})" if result.get("detail") else ""
        detail += f"; {operations}" if operations else ""
        self.repair.executed(status)
        self._add(kind, actor="awoooi (auto)" if by == "auto" else by, detail=detail + tries,
                  facts={"action": request.get("action"), "status": status, "executor": result.get("executor"),
                         "repair_id": request.get("repair_id"), "requested_by": by})

    def _learned(self, record: dict[str, Any], outcome: dict[str, Any]) -> None:
        worked = "worked" if record.get("success") else "did not work"
        blocked = "; not recommended again here for now" if outcome.get("blocked") else ""
        self._add(k.LEARNED, detail=f"{record.get('action')} {worked} for {record.get('anomaly_key')}{blocked}",
                  facts={"action": record.get("action"), "success": bool(record.get("success"))})

    def _failed(self, act: _Pending, failure: Any) -> None:
        info = failure.cause.application_failure_info if failure.HasField("cause") else None
        kind_name = failure.application_failure_info.type or (info.type if info is not None else "")
        if kind_name == "Paced":
            self._add(k.PACED, detail="a count-only card edit paced out by the chat's rate limit; "
                                      "tried again at the next interval")
            return
        message = failure.message or (failure.cause.message if failure.HasField("cause") else "")
        self._add(k.ACTIVITY_FAILED, detail=f"{act.name} gave up after {act.attempt} attempt"
                                            f"{'s' if act.attempt != 1 else ''}: {message}"[:300],
                  facts={"activity": act.name})

    def _search_attribute(self, name: str, value: Any) -> None:
        meaning = self._voc.search_attributes.get(name)
        if meaning == v.QUIET:
            return
        if meaning != v.STATUS:
            self._add(k.UNKNOWN, detail=f"search attribute {name!r} is not one this decoder knows")
            return
        if value == "expired":
            self.track.status = "expired"
            self._add(k.EXPIRED, detail="no resolution within the idle timeout: the incident closed unresolved",
                      facts={"occurrences": self.track.occurrences})
        elif value == "duplicate":
            # A resolution of an incident whose run had ended: the "resolved" just read was a repeat.
            last = self.entries[-1] if self.entries else None
            if last is not None and last.kind == k.RESOLVED and last.run_id == self._run_id():
                self.entries.pop()
            self.track.status = None
            self._add(k.DUPLICATE, detail="a late repeat of a resolution already handled: nothing shown")

    # -- helpers ------------------------------------------------------------------------------

    def _time(self) -> datetime:
        assert self._event is not None
        return event_time(self._event)

    def _run_id(self) -> str:
        return self._run.run_id if self._run is not None else ""

    def _acked_in_lifecycle(self, actor: str) -> bool:
        for entry in reversed(self.entries):
            if entry.kind == k.ACKED and entry.actor == actor:
                return True
            if entry.kind == k.FIRED:
                return False
        return False

    def _fired_facts(self, alert: dict[str, Any]) -> dict[str, Any]:
        return {"title": alert.get("title"), "service": alert.get("service"), "severity": alert.get("severity"),
                "starts_at": alert.get("starts_at"),
                "alertname": (alert.get("labels") or {}).get("alertname") or alert.get("title"),
                "anomaly_key": self._anomaly_key, "occurrences": 1}

    def _new_lifecycle(self) -> None:
        """An analysis after a re-open in the same run: the workflow started a new lifecycle there (a
        firing after the resolve grace), so that entry is a ``fired``, and the counts start over."""
        if self._reopened is None or self._voc.generation < 2:
            return  # generation 1 never started a lifecycle inside a run
        index, source, detail, facts = self._reopened
        self._reopened = None
        entry = self.entries[index]
        self.entries[index] = entry.model_copy(update={"kind": k.FIRED, "actor": source, "detail": detail,
                                                        "facts": _plain(facts)})
        self.track.occurrences = 1
        self.repair.reset()

    def _add(self, kind: str, *, actor: str = "awoooi", via: str | None = None, detail: str = "",
             count: int = 1, facts: dict[str, Any] | None = None) -> None:
        assert self._event is not None
        self.entries.append(TimelineEntry(
            at=self._time(), kind=kind, actor=actor, via=via, detail=detail, count=count, run_id=self._run_id(),
            event_id=self._event.event_id, generation=self._voc.generation, facts=_plain(facts or {})))


def _describe_alert(alert: dict[str, Any]) -> str:
    started = f", started {alert['starts_at']}" if alert.get("starts_at") else ""
    return f"{alert.get('title')} on {alert.get('service')} ({alert.get('severity')}{started})"


def _percent(value: Any) -> str:
    return f"{round(float(value) * 100)}%" if isinstance(value, int | float) else "unknown"


def _plain(facts: dict[str, Any]) -> dict[str, Any]:
    return {key: value if value is None or isinstance(value, str | int | float | bool) else str(value)
            for key, value in facts.items()}
