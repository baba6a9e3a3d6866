"""Streams of distinct Alertmanager alerts for fault tests, and how to count their cards.

Each alert gets a fingerprint unique to the run, so each is its own incident and its own card; the
card text carries the alert's title, which is how a duplicate card is told apart from a lost one.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

ALERTMANAGER = "/api/v1/webhooks/alertmanager"


def alertmanager_body(title: str, fingerprint: str | None = None) -> bytes:
    """One firing alert in an Alertmanager v4 webhook body."""
    alert = {
        "status": "firing",
        "labels": {"alertname": title, "severity": "warning", "service": "fault-test"},
        "annotations": {"summary": title},
        "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint or uuid.uuid4().hex[:16],
    }
    body = {"version": "4", "groupKey": f"{{}}:{{alertname=\"{title}\"}}", "truncatedAlerts": 0,
            "receiver": "awoooi", "status": "firing", "alerts": [alert], "groupLabels": {"alertname": title},
            "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
            "externalURL": "http://alertmanager.example"}
    return json.dumps(body).encode()


def occurrence_body(fingerprint: str, labels: dict[str, str], summary: str, starts_at: str,
                    status: str = "firing") -> bytes:
    """One alert with a fixed fingerprint and startsAt, firing or resolved: sent again, it is the same
    occurrence (a sender's retry); a new ``starts_at`` is a new firing of the same incident."""
    alert = {"status": status, "fingerprint": fingerprint, "labels": labels, "annotations": {"summary": summary},
             "startsAt": starts_at,
             "endsAt": "2026-12-02T23:59:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"}
    return json.dumps({"version": "4", "status": status, "receiver": "awoooi", "groupKey": fingerprint,
                       "alerts": [alert], "truncatedAlerts": 0}).encode()


def titles(run: str, n: int) -> list[str]:
    return [f"Fault{run}N{i:03d}" for i in range(n)]


def cards_per_title(sent: list[dict[str, Any]], expected: list[str]) -> Counter[str]:
    """How many cards each expected title got (0 = lost, 2+ = duplicated)."""
    counts: Counter[str] = Counter(dict.fromkeys(expected, 0))
    for message in sent:
        for title in expected:
            if f"<b>{title}</b>" in message["text"]:
                counts[title] += 1
    return counts
