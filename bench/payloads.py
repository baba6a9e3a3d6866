"""Alertmanager webhook bodies for the benches, and how to find their alerts in the chat again.

Every alert carries a unique ``instance`` label, ``node-{run}-{i:05d}``: fixed width, so one label
is never a prefix of another, and it is what a card (the service row) or a digest line shows. A
message "shows" an alert when its final text contains that label value.

In a storm, delivery ``k`` of fingerprint ``f`` reports round ``k // fingerprints`` with its own
``startsAt``: a new firing of the same alert, which awoooi counts as an occurrence. (A re-send with
the same startsAt is the same occurrence and is not counted: that would make the storm trivially
cheap.)
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

BASE_TIME = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
_NO_END = "0001-01-01T00:00:00Z"


def new_run() -> str:
    return uuid.uuid4().hex[:6]


def instance(run: str, i: int) -> str:
    return f"node-{run}-{i:05d}"


def fingerprint(run: str, i: int) -> str:
    return f"{run}{i:010x}"


ALERT_NAME = "HostHighCpuLoad"


def incident_id(run: str, i: int) -> str:
    """awoooi's incident id for the alert, ``alertmanager-{name}-{service}-{fingerprint}``
    (docs/adr/0002): the service is the ``instance`` label, as awoooi reads it."""
    return f"alertmanager-{ALERT_NAME}-{instance(run, i)}-{fingerprint(run, i)}"


def workflow_prefix(run: str) -> str:
    """What every workflow id of a run's incidents starts with (and no other run's)."""
    return f"incident-alertmanager-{ALERT_NAME}-node-{run}-"


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def alert(run: str, i: int, *, round_: int = 0, resolved: bool = False) -> dict[str, object]:
    starts = BASE_TIME + timedelta(seconds=round_)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {"alertname": ALERT_NAME, "instance": instance(run, i), "severity": "warning"},
        "annotations": {"summary": f"CPU load is high on {instance(run, i)}"},
        "startsAt": _stamp(starts),
        "endsAt": _stamp(starts + timedelta(seconds=30)) if resolved else _NO_END,
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint(run, i),
    }


def body(alerts: list[dict[str, object]], group_key: str = "bench") -> bytes:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return json.dumps({"version": "4", "status": status, "receiver": "awoooi", "groupKey": group_key,
                       "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager.example", "alerts": alerts,
                       "truncatedAlerts": 0}).encode()


def distinct(run: str, count: int, start: int = 0) -> list[bytes]:
    """``count`` deliveries, each one new alert (a new incident)."""
    return [body([alert(run, i)], f"bench-{run}-{i}") for i in range(start, start + count)]


def storm(run: str, deliveries: int, fingerprints: int) -> list[bytes]:
    """``deliveries`` deliveries of one firing alert each, round-robin over ``fingerprints`` alerts,
    each round a new startsAt (a counted occurrence)."""
    return [body([alert(run, k % fingerprints, round_=k // fingerprints)], f"bench-{run}-{k % fingerprints}")
            for k in range(deliveries)]


def shown_pattern(run: str) -> re.Pattern[str]:
    """Finds the alert numbers of run ``run`` in a message text."""
    return re.compile(rf"node-{re.escape(run)}-(\d{{5}})")


def alertmanager_groups(run: str, rounds: int, fingerprints: int, group: int = 50) -> tuple[list[bytes], list[int]]:
    """What an Alertmanager sends in a storm: one notification per group of ``group`` alerts and
    round. Even rounds are new firings (a new startsAt for every alert); each odd round re-sends the
    round before it unchanged, as ``repeat_interval`` does (the same startsAt: nothing new to
    count). An HA pair posts each body twice (loadgen ``copies=2``). Returns the bodies and, per
    fingerprint, how many occurrences awoooi must count."""
    bodies = []
    for r in range(rounds):
        for first in range(0, fingerprints, group):
            members = range(first, min(first + group, fingerprints))
            bodies.append(body([alert(run, i, round_=r // 2) for i in members], f"bench-{run}-group-{first}"))
    return bodies, [(rounds + 1) // 2] * fingerprints
