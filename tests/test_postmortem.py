"""The postmortem draft from recorded histories: every section, in the card's language, and an
acknowledgement (the reserved `ack` update) when the history has one."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHistory

from core.timeline import RunHistory, decode
from core.timeline.postmortem import WORDS, postmortem

HISTORIES = Path(__file__).parent / "histories"
TAIPEI = ZoneInfo("Asia/Taipei")


def _timeline(raw: dict):
    return decode("alertmanager-KubeHpaMaxedOut-checkout-f00dfeed00000001",
                  [RunHistory("w", "r", WorkflowHistory.from_json("w", raw).events)])


def _raw(name: str) -> dict:
    return json.loads((HISTORIES / name).read_text())


@pytest.mark.parametrize("locale", ["en", "zh-TW"])
def test_every_section_in_the_cards_language(locale: str) -> None:
    draft = postmortem(_timeline(_raw("incident2_repair.json")), locale=locale, tz=TAIPEI)
    words = WORDS[locale]
    headings = [line for line in draft.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# ") and "KubeHpaMaxedOut" in headings[0] and "checkout" in headings[0]
    assert headings[1:] == [f"## {words[key]}" for key in ("summary", "impact", "timeline", "analysis", "done",
                                                            "learning", "follow_up")]
    assert words["no_ack"] in draft and "@bijoyvbabu123 (telegram)" in draft
    assert "scale_up worked for kubehpamaxedout:checkout" in draft
    assert draft.count("- [ ]") == 2, "empty follow-up items for the humans"
    assert "CST" in draft, "times in AWOOOI_TIMEZONE too"


def test_an_acknowledgement_gives_the_unacknowledged_time() -> None:
    raw = _raw("incident2_repair.json")
    accepted = next(e for e in raw["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    request = accepted["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]
    request["input"]["name"] = "ack"
    request["input"]["args"]["payloads"][0]["data"] = base64.b64encode(
        json.dumps({"by": "@carol", "via": "telegram"}).encode()).decode()
    draft = postmortem(_timeline(raw), locale="en", tz=ZoneInfo("UTC"))
    assert "Unacknowledged for 0m 00s (until @carol acknowledged at 2026-12-06 05:56:04 UTC)." in draft


def test_an_expired_incident_says_it_was_not_resolved() -> None:
    raw = _raw("incident2_lifecycle.json")
    # The resolution never came: drop its signal (a copy in memory; the recorded file is untouched).
    signals = [e for e in raw["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"]
    raw["events"].remove(signals[-1])
    draft = postmortem(_timeline(raw), locale="en", tz=ZoneInfo("UTC"))
    assert "Not resolved: the window is still open" in draft
