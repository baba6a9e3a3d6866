"""The timeline decoder on the recorded histories of both generations (tests/histories/, read only)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from core.timeline import RunHistory, decode
from core.timeline import model as k

HISTORIES = Path(__file__).parent / "histories"
INCIDENTS = sorted(HISTORIES.glob("incident*.json"))


def _timeline(raw: dict | str, name: str = "x"):
    history = WorkflowHistory.from_json(name, raw)
    return decode(name, [RunHistory(name, "run-1", history.events)])


def _raw(name: str) -> dict:
    return json.loads((HISTORIES / name).read_text())


def _b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("path", INCIDENTS, ids=lambda p: p.stem)
def test_every_recorded_incident_reads_without_unknowns_from_fired_to_resolved(path: Path) -> None:
    timeline = _timeline(path.read_text(), path.stem)
    kinds = [entry.kind for entry in timeline.entries]
    assert timeline.unknown == []
    assert kinds[0] == k.FIRED and k.RESOLVED in kinds
    assert k.CARD_SHOWN in kinds and kinds[-1] in (k.CARD_EDITED, k.RESOLVED)
    assert [entry.at for entry in timeline.entries] == sorted(entry.at for entry in timeline.entries)
    assert timeline.runs[0].generation == (2 if path.stem.startswith("incident2") else 1)
    assert timeline.runs[0].ended == "completed"


def test_generation_2_repair_reads_as_the_story_it_was() -> None:
    timeline = _timeline(_raw("incident2_repair.json"))
    story = [(e.kind, e.actor, e.via) for e in timeline.entries]
    assert story == [
        (k.FIRED, "alertmanager", None),
        (k.ANALYSED, "rules", None),
        (k.REPAIR_PROPOSED, "awoooi", None),
        (k.CARD_SHOWN, "awoooi", None),
        (k.APPROVED, "@bijoyvbabu123", "telegram"),
        (k.CARD_EDITED, "awoooi", None),
        (k.EXECUTED, "@bijoyvbabu123", None),
        (k.RESOLVED, "alertmanager", None),
        (k.CARD_EDITED, "awoooi", None),
        (k.LEARNED, "awoooi", None),
        (k.VERIFIED, "awoooi", None),
        (k.CARD_EDITED, "awoooi", None),
    ]
    approved = timeline.first(k.APPROVED)
    assert approved is not None and approved.event_id == 22
    assert approved.at.isoformat() == "2026-12-06T05:56:04.152895+00:00"  # the update's event time
    executed = timeline.first(k.EXECUTED)
    assert executed is not None and executed.facts["action"] == "scale_up" and executed.facts["status"] == "executed"


def test_generation_1_repair_reads_the_same_words() -> None:
    timeline = _timeline(_raw("incident_v2_repair.json"))
    kinds = [e.kind for e in timeline.entries]
    assert kinds == [k.FIRED, k.ANALYSED, k.REPAIR_PROPOSED, k.CARD_SHOWN, k.APPROVED, k.CARD_EDITED, k.EXECUTED,
                     k.CARD_EDITED, k.OCCURRENCES, k.RESOLVED, k.CARD_EDITED, k.LEARNED, k.VERIFIED, k.CARD_EDITED]
    assert {e.generation for e in timeline.entries} == {1}


def test_a_storm_batch_is_one_occurrences_entry_with_its_resent_repeats() -> None:
    timeline = _timeline(_raw("incident2_storm.json"))
    counted = [e for e in timeline.entries if e.kind == k.OCCURRENCES]
    assert len(counted) == 1 and counted[0].facts == {"counted": 10, "occurrences": 11}
    assert "10 re-sent" in counted[0].detail


def test_a_digest_line_then_its_own_card_on_demand() -> None:
    timeline = _timeline(_raw("incident_v6_digest.json"))
    shown = [e.detail for e in timeline.entries if e.kind == k.CARD_SHOWN]
    assert shown[0].startswith("as a line of the chat's storm digest") and "on demand" in shown[-1]
    assert timeline.first(k.CARD_REQUESTED) is not None


def test_an_event_the_decoder_does_not_know_is_said_not_failed() -> None:
    raw = _raw("incident2_lifecycle.json")
    odd = copy.deepcopy(raw)
    signal = next(e for e in odd["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
    signal["workflowExecutionSignaledEventAttributes"]["signalName"] = "page_the_moon"
    scheduled = next(e for e in odd["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "call_grandma"
    timeline = _timeline(odd)
    unknown = [e.detail for e in timeline.unknown]
    assert any("page_the_moon" in d for d in unknown) and any("call_grandma" in d for d in unknown)
    assert timeline.entries[-1].kind == k.CARD_EDITED, "the rest still reads"


def test_a_payload_of_another_shape_is_an_unknown_entry_and_the_rest_reads() -> None:
    odd = _raw("incident2_repair.json")
    accepted = next(e for e in odd["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    accepted["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["input"]["args"]["payloads"][0][
        "data"] = base64.b64encode(b"{not json").decode()
    timeline = _timeline(odd)
    assert len(timeline.unknown) == 1 and "could not be read" in timeline.unknown[0].detail
    assert timeline.last(k.VERIFIED) is not None


def test_an_ack_update_when_the_workflow_has_one_reads_as_acked() -> None:
    """RESERVED in core/timeline/vocabulary.py: the lead's `ack` update, as a Decision-like input."""
    raw = _raw("incident2_repair.json")
    accepted = next(e for e in raw["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    request = accepted["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]
    request["input"]["name"] = "ack"
    request["input"]["args"]["payloads"][0]["data"] = _b64({"by": "@carol", "via": "telegram",
                                                            "at": "2026-12-06T05:56:04Z"})
    timeline = _timeline(raw)
    acked = timeline.first(k.ACKED)
    assert acked is not None and (acked.actor, acked.via) == ("@carol", "telegram")
    assert timeline.unknown == []


def test_a_workflow_type_without_a_vocabulary_says_so() -> None:
    timeline = _timeline((HISTORIES / "probe_v4_probe.json").read_text())
    assert timeline.unknown and "AlertChainProbe" in timeline.unknown[0].detail


def test_retries_are_told_in_the_entry_and_summed_per_run() -> None:
    raw = _raw("incident2_lifecycle.json")
    scheduled = next(e for e in raw["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
                     and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "place_card")
    started = next(e for e in raw["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_STARTED"
                   and e["activityTaskStartedEventAttributes"]["scheduledEventId"] == scheduled["eventId"])
    started["activityTaskStartedEventAttributes"]["attempt"] = 3
    timeline = _timeline(raw)
    shown = timeline.first(k.CARD_SHOWN)
    assert shown is not None and shown.detail.endswith("(after 3 attempts)")
    assert timeline.runs[0].retries == 2
    assert len([e for e in timeline.entries if e.kind == k.CARD_SHOWN]) == 1, "one entry, not three"
