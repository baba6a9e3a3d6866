"""Stable identities derived from an alert: incident id, workflow id, anomaly key, delivery id.

One workflow per incident, keyed by the alert's source and fingerprint, so every repeat delivery
of a firing alert lands in the same workflow instead of starting a second pipeline
(docs/adr/0002-workflow-identity.md). The incident id reads as what it is: source, alert name and
service before the fingerprint (``alertmanager-KubePodCrashLooping-checkout-72a2002704e27a2e``);
the name parts are for people, the fingerprint makes it unique. The anomaly key is coarser: the
kind of alert on a service, which is what frequency counting and learning are about.
"""

from __future__ import annotations

import hashlib
import re

from core.models import Alert, AlertStatus, IncidentRef, Source
from core.probe import is_probe

WORKFLOW_ID_PREFIX = "incident-"
# Alert-chain probe incidents: kept out of a query for WorkflowId STARTS_WITH "incident-".
PROBE_WORKFLOW_ID_PREFIX = "probe-"
# The fingerprint the parsers give an alert they could not read (starter/parsers/common.py).
UNREADABLE_PREFIX = "unreadable-"
# Each readable part of an incident id, in UTF-8 bytes.
NAME_PART_BYTES = 48
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_UNICODE = re.compile(r"[^\w.-]+")


def _slug(value: str, limit: int = 80) -> str:
    cleaned = _UNSAFE.sub("_", value.strip()).strip("_")
    if len(cleaned) > limit:
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[: limit - 9]}_{digest}"
    return cleaned or "unknown"


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A fingerprint for senders that do not supply one: a hash of the sorted label set."""
    canonical = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def alert_key(alert: Alert) -> str:
    """``{source}-{fingerprint}``: the fingerprint's own key, for delivery and occurrence ids (and the
    id generation 1 gave its incidents). Unlike the incident id it never depends on a label's value."""
    return f"{alert.source.value}-{_slug(alert.fingerprint)}"


def incident_id(alert: Alert) -> str:
    """``{source}-{alert name}-{service}-{fingerprint}``, one per fingerprint: Alertmanager's and
    SigNoz's fingerprint is a hash of the labels the name and service are read from. A Sentry issue's
    title can change while the issue stays, so a Sentry id names the project and the issue only; an
    alert that could not be read has no name or service to show (``alertmanager-unreadable-...``)."""
    if alert.fingerprint.startswith(UNREADABLE_PREFIX):
        return alert_key(alert)
    parts = [alert.source.value]
    if alert.source is not Source.SENTRY:
        parts.append(_name_part(alert.alertname))
    parts += [_name_part(alert.service), _slug(alert.fingerprint)]
    return "-".join(parts)


def _name_part(value: str) -> str:
    """A readable id part: words kept (``cpu使用率过高``), anything else made ``_``, cut to its bytes."""
    cleaned = _UNSAFE_UNICODE.sub("_", value.strip()).strip("_") or "unknown"
    encoded = cleaned.encode()
    if len(encoded) <= NAME_PART_BYTES:
        return cleaned
    return encoded[:NAME_PART_BYTES].decode(errors="ignore").rstrip("_") or "unknown"


def workflow_id(alert: Alert) -> str:
    prefix = PROBE_WORKFLOW_ID_PREFIX if is_probe(alert) else WORKFLOW_ID_PREFIX
    return prefix + incident_id(alert)


def workflow_id_for(incident: str) -> str:
    """The workflow of an incident id (what the card, the API and the CLI show)."""
    return WORKFLOW_ID_PREFIX + incident


def legacy_workflow_id(alert: Alert) -> str:
    """Where generation 1 ran this alert's incident (``incident-{source}-{fingerprint}``)."""
    return WORKFLOW_ID_PREFIX + alert_key(alert)


ANOMALY_PART_BYTES = 60  # per part, in UTF-8 bytes (Redis keys and Telegram callback data count bytes)


def _readable(value: str) -> str:
    """A key part that keeps non-ASCII words (``cpu使用率过高``) as UTF-8.

    ASCII values take exactly the old path, so keys already holding learning data keep their
    names. A short hash is added only when the value had to be cut to the byte bound or had no word
    left, which is when two different values could otherwise share a key.
    """
    if value.isascii():
        return _slug(value, ANOMALY_PART_BYTES)
    cleaned = _UNSAFE_UNICODE.sub("_", value.strip()).strip("_")
    encoded = cleaned.encode()
    if cleaned and len(encoded) <= ANOMALY_PART_BYTES:
        return cleaned
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    head = encoded[: ANOMALY_PART_BYTES - 9].decode(errors="ignore").rstrip("_")
    return f"{head}_{digest}" if head else digest


def anomaly_key(alert: Alert) -> str:
    """``alertname:service``: what learning and frequency counting are keyed on.

    Non-ASCII alert names (Alertmanager rules are often written in Chinese, as the seed's are)
    keep their words as UTF-8 so the key stays readable (docs/adr/0012).
    """
    name = alert.alertname
    if name.isascii():
        slug = _slug(name, 60)
        if slug.replace("_", "") == "":
            slug = f"{slug}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    else:
        slug = _readable(name)
    return f"{slug}:{_readable(alert.service)}".lower()


def incident_ref(alert: Alert) -> IncidentRef:
    return IncidentRef(incident_id=incident_id(alert), workflow_id=workflow_id(alert), anomaly_key=anomaly_key(alert),
                       legacy_workflow_id=legacy_workflow_id(alert))


def resolved_delivery_id(alert: Alert) -> str:
    """A resolved alert resolves its incident once; a re-sent resolution is a duplicate."""
    assert alert.status is AlertStatus.RESOLVED
    end = alert.ends_at.isoformat() if alert.ends_at else "open"
    start = alert.starts_at.isoformat() if alert.starts_at else ""
    return f"{alert_key(alert)}:resolved:{start}:{end}"


def firing_occurrence_id(alert: Alert) -> str | None:
    """One firing of an Alertmanager-style alert: its fingerprint and when it started.

    Alertmanager re-sends a firing alert on every retry and every repeat_interval with the same
    startsAt; a new firing after a resolution gets a new startsAt. None without a start time."""
    if alert.status is not AlertStatus.FIRING or alert.starts_at is None:
        return None
    return f"{alert_key(alert)}:firing:{alert.starts_at.isoformat()}"
