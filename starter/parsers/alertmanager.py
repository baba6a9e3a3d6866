"""Alertmanager webhook v4 (and SigNoz, whose notifier is a copy of it) -> :class:`Alert`.

Lenient about extra fields (newer Alertmanagers add ``notification_reason``, ``routeLabels``), strict
about what the pipeline needs: a body we cannot use raises :class:`PayloadError` (-> 422, which
Alertmanager never retries), with a message naming the field so the sender's config can be fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import ValidationError

from core.errors import PayloadError
from core.identity import firing_occurrence_id, labels_fingerprint, resolved_delivery_id
from core.models import Alert, AlertStatus, Link, Source

from starter.parsers.common import (
    ParsedAlert,
    ParseResult,
    clean_str,
    infer_service,
    is_http_url,
    normalize_severity,
    parse_time,
    safe_alert,
    str_dict,
    unreadable_alert,
)

_STATUSES = {s.value: s for s in AlertStatus}
MAX_TRUNCATED = 2**31  # a count, not an amount: anything larger is garbage (and overflows a float)


def parse_alertmanager(body: object, *, source: Source = Source.ALERTMANAGER) -> ParseResult:
    """Parse one webhook delivery; every alert in the group becomes its own :class:`ParsedAlert`."""
    if not isinstance(body, Mapping):
        raise PayloadError("body must be a JSON object")
    raw_alerts = body.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts must be a non-empty list")
    group_status = body.get("status")
    external_url = body.get("externalURL")
    parsed: list[ParsedAlert] = []
    for i, raw in enumerate(raw_alerts):
        where = f"alerts[{i}]"
        try:
            parsed.append(parse_alert_object(
                raw, where=where, source=source, default_status=group_status, external_url=external_url,
            ))
        except (PayloadError, ValidationError) as exc:
            # One bad alert must not cost the group its good ones: it becomes an "unreadable
            # alert" incident and its answer says "rejected", naming the field.
            problem = str(exc) if isinstance(exc, PayloadError) else f"{where}: {exc}"
            parsed.append(unreadable_alert(raw, problem=problem, source=source, where=where))
    problems = [p.problem for p in parsed if p.problem]
    if len(problems) == len(parsed):  # nothing usable: the sender's config is wrong, say so (422)
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise PayloadError("; ".join(problems[:5]) + more)
    return ParseResult(alerts=parsed, truncated=_truncated(body.get("truncatedAlerts")))


def parse_alert_object(
    raw: object,
    *,
    where: str,
    source: Source,
    default_status: object = None,
    external_url: object = None,
) -> ParsedAlert:
    """Parse one Alertmanager-shaped alert object; ``where`` prefixes error messages (``alerts[2]``).

    Shared with the SigNoz flat format, which is the same object without the group envelope.
    """
    prefix = f"{where}." if where else ""
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{where or 'alert'} must be a JSON object")

    status = _status(raw.get("status", default_status), f"{prefix}status")

    raw_labels = raw.get("labels")
    if not isinstance(raw_labels, Mapping):
        raise PayloadError(f"{prefix}labels must be a JSON object")
    labels = str_dict(raw_labels)
    title = clean_str(labels.get("alertname"))
    if title is None:
        raise PayloadError(f"{prefix}labels.alertname is required")

    raw_annotations = raw.get("annotations") or {}
    if not isinstance(raw_annotations, Mapping):
        raise PayloadError(f"{prefix}annotations must be a JSON object")

    fingerprint = clean_str(raw.get("fingerprint")) or labels_fingerprint(labels)

    alert = Alert(
        source=source,
        fingerprint=fingerprint,
        status=status,
        severity=normalize_severity(labels.get("severity")),
        title=title,
        service=infer_service(labels),
        labels=labels,
        annotations=str_dict(raw_annotations),
        starts_at=_time(raw.get("startsAt"), f"{prefix}startsAt"),
        ends_at=_time(raw.get("endsAt"), f"{prefix}endsAt"),
        links=_links(raw.get("generatorURL"), external_url, source),
    )
    # A resolution happens once, so a re-sent one is recognisable as a duplicate; a firing alert is
    # re-sent on every retry and repeat_interval, each re-send news of the same occurrence.
    alert = safe_alert(alert)
    delivery_key = resolved_delivery_id(alert) if status is AlertStatus.RESOLVED else None
    return ParsedAlert(alert=alert, delivery_key=delivery_key, occurrence_key=firing_occurrence_id(alert))


def _status(value: object, field: str) -> AlertStatus:
    status = _STATUSES.get(value.strip().lower()) if isinstance(value, str) else None
    if status is None:
        raise PayloadError(f"{field} must be 'firing' or 'resolved'")
    return status


def _time(value: object, field: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        raise PayloadError(f"{field} must be an RFC3339 time") from None


def _links(generator_url: object, external_url: object, source: Source) -> list[Link]:
    links: list[Link] = []
    if is_http_url(generator_url):
        links.append(Link(title="Source", url=str(generator_url).strip()))
    if is_http_url(external_url):
        sender = "SigNoz" if source is Source.SIGNOZ else "Alertmanager"
        links.append(Link(title=sender, url=str(external_url).strip()))
    return links


def _truncated(value: object) -> int:
    """How many alerts ``max_alerts`` cut off; garbage here is not worth rejecting a delivery."""
    if isinstance(value, bool):
        return 0
    try:
        return min(max(int(value), 0), MAX_TRUNCATED)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # "many", 1e999 (inf), NaN
        return 0
