"""Sentry webhooks (integration platform and the legacy WebHooks plugin) -> :class:`Alert`.

Only resources that say "something is broken" become alerts; everything else (comments, assignments,
installations) is :class:`Ignored` so the HTTP layer can acknowledge it with a 2xx. Ignoring
``comment`` matters: awoooi comments on issues itself and Sentry echoes each comment back as a
webhook, which would otherwise loop.

Fingerprints are per Sentry issue (``issue-<id>``), so every event of an issue lands in the same
incident workflow; delivery keys are per event / per issue transition so Sentry's retries dedupe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from core.errors import PayloadError
from core.models import Alert, AlertStatus, Link, SentryRef, Severity, Source

from starter.parsers.common import (
    Ignored,
    ParsedAlert,
    ParseResult,
    clean_str,
    is_http_url,
    normalize_severity,
    parse_time,
    safe_alert,
    to_str,
)

_ORG_IN_WEB_URL = re.compile(r"/organizations/([^/]+)/")
_ORG_PROJECT_IN_API_URL = re.compile(r"/projects/([^/]+)/([^/]+)/")
_ISSUE_IN_URL = re.compile(r"/issues/(\d+)")
_NOT_ORG_SUBDOMAINS = frozenset({"www", "api", "us", "de", "sentry"})

# data key -> resource, for deliveries that arrive without a Sentry-Hook-Resource header.
_DATA_KEYS = (
    ("event", "event_alert"),
    ("error", "error"),
    ("issue", "issue"),
    ("metric_alert", "metric_alert"),
    ("comment", "comment"),
)


def parse_sentry(
    body: object, *, resource: str | None, request_id: str | None = None
) -> ParseResult:
    """Parse one Sentry delivery; ``resource`` is the Sentry-Hook-Resource header, if any."""
    if not isinstance(body, Mapping):
        raise PayloadError("body must be a JSON object")
    kind = (resource or "").strip().lower() or _infer_resource(body)
    action = clean_str(body.get("action")) or ""

    if kind == "event_alert":
        if action != "triggered":
            return _ignored(f"sentry event_alert action '{action}' is not an alert")
        return _one(_parse_event(body, key="event", request_id=request_id))
    if kind == "error":
        if action != "created":
            return _ignored(f"sentry error action '{action}' is not an alert")
        return _one(_parse_event(body, key="error", request_id=request_id))
    if kind == "issue":
        if action not in ("created", "unresolved", "resolved"):
            return _ignored(f"sentry issue action '{action}' is not an alert")
        return _one(_parse_issue(body, action=action, request_id=request_id))
    if kind == "metric_alert":
        if action not in ("critical", "warning", "resolved"):
            return _ignored(f"sentry metric_alert action '{action}' is not an alert")
        return _one(_parse_metric_alert(body, action=action))
    if kind == "legacy":
        return _one(_parse_legacy(body))
    return _ignored(f"sentry resource '{kind}' is not an alert")


def _infer_resource(body: Mapping[str, Any]) -> str:
    data = body.get("data")
    if isinstance(data, Mapping):
        for data_key, resource in _DATA_KEYS:
            if data_key in data:
                return resource
    if "data" not in body and "action" not in body and "id" in body:
        if any(k in body for k in ("event", "level", "culprit")):
            return "legacy"
    raise PayloadError(
        "cannot tell the Sentry resource: no Sentry-Hook-Resource header and data has none of "
        "event, error, issue, metric_alert, comment"
    )


def _one(parsed: ParsedAlert) -> ParseResult:
    return ParseResult(alerts=[ParsedAlert(alert=safe_alert(parsed.alert), delivery_key=parsed.delivery_key)])


def _ignored(reason: str) -> ParseResult:
    return ParseResult(alerts=[], ignored=Ignored(reason=reason))


# ------------------------------------------------------------------------- event_alert and error


def _parse_event(body: Mapping[str, Any], *, key: str, request_id: str | None) -> ParsedAlert:
    where = f"data.{key}"
    event = _object(_object(body.get("data"), "data").get(key), where)
    title = clean_str(event.get("title"))
    if title is None:
        raise PayloadError(f"{where}.title is required")
    issue_id = clean_str(event.get("issue_id")) or _issue_from_url(event.get("issue_url"))
    if issue_id is None:
        raise PayloadError(f"{where}.issue_id (or issue_url) is required")

    url, web_url = clean_str(event.get("url")), clean_str(event.get("web_url"))
    api_match = _ORG_PROJECT_IN_API_URL.search(url or "")
    project = api_match.group(2) if api_match else clean_str(event.get("project"))
    event_id = clean_str(event.get("event_id")) or clean_str(event.get("id"))
    culprit = clean_str(event.get("culprit"))
    level = clean_str(event.get("level")) or "error"  # Sentry's default level

    alert = _event_alert(
        event,
        issue_id=issue_id,
        title=title,
        project=project,
        level=level,
        culprit=culprit,
        rule=clean_str(body["data"].get("triggered_rule")) if key == "event" else None,
        message=clean_str(event.get("message")),
        starts_at=_time(event.get("datetime") or event.get("timestamp"), f"{where}.datetime"),
        web_url=web_url if is_http_url(web_url) else None,
        org_slug=_org_slug(web_url) or (api_match.group(1) if api_match else None),
        event_id=event_id,
    )
    return ParsedAlert(alert=alert, delivery_key=_event_key(event_id, request_id))


# ---------------------------------------------------------------------------------------- issue


def _parse_issue(body: Mapping[str, Any], *, action: str, request_id: str | None) -> ParsedAlert:
    issue = _object(_object(body.get("data"), "data").get("issue"), "data.issue")
    issue_id = clean_str(issue.get("id"))
    if issue_id is None:
        raise PayloadError("data.issue.id is required")
    metadata = issue.get("metadata") if isinstance(issue.get("metadata"), Mapping) else {}
    title = clean_str(issue.get("title")) or clean_str(metadata.get("title"))
    if title is None:
        raise PayloadError("data.issue.title is required")

    project_obj = issue.get("project")
    if isinstance(project_obj, Mapping):
        project = clean_str(project_obj.get("slug")) or clean_str(project_obj.get("name"))
    else:
        project = clean_str(project_obj)
    permalink = clean_str(issue.get("permalink"))
    exc_type, exc_value = clean_str(metadata.get("type")), clean_str(metadata.get("value"))
    culprit = clean_str(issue.get("culprit"))
    level = clean_str(issue.get("level")) or "error"
    short_id = clean_str(issue.get("shortId"))
    last_seen = clean_str(issue.get("lastSeen"))
    resolved = action == "resolved"

    labels = _labels(
        alertname=exc_type or title,
        level=level,
        project=project,
        platform=clean_str(issue.get("platform")),
        culprit=culprit,
        short_id=short_id,
    )
    description = exc_value or culprit
    alert = Alert(
        source=Source.SENTRY,
        fingerprint=f"issue-{issue_id}",
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        severity=normalize_severity(level),
        title=title,
        service=project or "unknown",
        labels=labels,
        annotations={"description": description} if description else {},
        starts_at=_time(issue.get("firstSeen"), "data.issue.firstSeen"),
        links=_link(permalink),
        sentry=SentryRef(
            issue_id=issue_id,
            short_id=short_id,
            org_slug=_org_slug(permalink),
            project=project,
            web_url=permalink if is_http_url(permalink) else None,
            culprit=culprit,
            exception_type=exc_type,
            exception_value=exc_value,
        ),
    )
    # Sentry retries a delivery with the same Request-ID; lastSeen is the best stand-in without it.
    # A resolution is keyed on lastSeen only, so any retry of the same resolution is a duplicate.
    if resolved or not request_id:
        key = f"sentry-issue:{issue_id}:{action}:{last_seen}"
    else:
        key = f"sentry-issue:{issue_id}:{action}:{request_id}"
    return ParsedAlert(alert=alert, delivery_key=key)


# --------------------------------------------------------------------------------- metric_alert

_METRIC_SEVERITY = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}


def _parse_metric_alert(body: Mapping[str, Any], *, action: str) -> ParsedAlert:
    data = _object(body.get("data"), "data")
    metric = _object(data.get("metric_alert"), "data.metric_alert")
    metric_id = clean_str(metric.get("id"))
    if metric_id is None:
        raise PayloadError("data.metric_alert.id is required")
    rule = metric.get("alert_rule") if isinstance(metric.get("alert_rule"), Mapping) else {}
    title = (
        clean_str(rule.get("name"))
        or clean_str(data.get("description_title"))
        or clean_str(metric.get("title"))
    )
    if title is None:
        raise PayloadError("data.metric_alert.alert_rule.name is required")
    projects = rule.get("projects") or metric.get("projects") or []
    project = clean_str(projects[0]) if isinstance(projects, list) and projects else None
    web_url = clean_str(data.get("web_url"))
    date_started = clean_str(metric.get("date_started"))
    description = clean_str(data.get("description_text"))

    labels = _labels(
        alertname=title,
        project=project,
        rule_id=clean_str(rule.get("id")),
        aggregate=clean_str(rule.get("aggregate")),
        query=clean_str(rule.get("query")),
        dataset=clean_str(rule.get("dataset")),
        environment=clean_str(rule.get("environment")),
    )
    alert = Alert(
        source=Source.SENTRY,
        fingerprint=f"metric-{metric_id}",
        status=AlertStatus.RESOLVED if action == "resolved" else AlertStatus.FIRING,
        severity=_METRIC_SEVERITY.get(action, Severity.WARNING),
        title=title,
        service=project or "unknown",
        labels=labels,
        annotations={"description": description} if description else {},
        starts_at=_time(date_started, "data.metric_alert.date_started"),
        ends_at=_time(metric.get("date_closed"), "data.metric_alert.date_closed"),
        links=_link(web_url),
        sentry=SentryRef(
            org_slug=_org_slug(web_url),
            project=project,
            web_url=web_url if is_http_url(web_url) else None,
        ),
    )
    return ParsedAlert(alert=alert, delivery_key=f"sentry-metric:{metric_id}:{action}:{date_started}")


# ------------------------------------------------------------------------------- legacy plugin


def _parse_legacy(body: Mapping[str, Any]) -> ParsedAlert:
    issue_id = clean_str(body.get("id"))
    if issue_id is None:
        raise PayloadError("id is required")
    event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
    culprit = clean_str(body.get("culprit")) or clean_str(event.get("culprit"))
    title = clean_str(event.get("title")) or clean_str(body.get("message")) or culprit
    if title is None:
        raise PayloadError("event.title is required")
    project = clean_str(body.get("project_slug")) or clean_str(body.get("project"))
    url = clean_str(body.get("url"))
    event_id = clean_str(event.get("event_id")) or clean_str(event.get("id"))
    level = clean_str(body.get("level")) or clean_str(event.get("level")) or "error"
    rules = body.get("triggering_rules")

    alert = _event_alert(
        event,
        issue_id=issue_id,
        title=title,
        project=project,
        level=level,
        culprit=culprit,
        rule=", ".join(to_str(r) for r in rules) if isinstance(rules, list) and rules else None,
        message=clean_str(body.get("message")),
        starts_at=_time(event.get("timestamp"), "event.timestamp"),
        web_url=url if is_http_url(url) else None,
        org_slug=_org_slug(url),
        event_id=event_id,
    )
    return ParsedAlert(alert=alert, delivery_key=_event_key(event_id, None))


# -------------------------------------------------------------------------------------- helpers


def _event_alert(
    event: Mapping[str, Any],
    *,
    issue_id: str,
    title: str,
    project: str | None,
    level: str,
    culprit: str | None,
    rule: str | None,
    message: str | None,
    starts_at: datetime | None,
    web_url: str | None,
    org_slug: str | None,
    event_id: str | None,
) -> Alert:
    """A firing alert for one Sentry event, as the integration platform and the legacy plugin send
    it; the callers differ only in where they find each field."""
    exc_type, exc_value = _exception(event)
    labels = _labels(
        alertname=exc_type or title,
        level=level,
        project=project,
        platform=clean_str(event.get("platform")),
        culprit=culprit,
        rule=rule,
    )
    labels.update(_tags(event.get("tags")))
    description = exc_value or message or culprit
    return Alert(
        source=Source.SENTRY,
        fingerprint=f"issue-{issue_id}",
        status=AlertStatus.FIRING,
        severity=normalize_severity(level),
        title=title,
        service=project or "unknown",
        labels=labels,
        annotations={"description": description} if description else {},
        starts_at=starts_at,
        links=_link(web_url),
        sentry=SentryRef(
            issue_id=issue_id,
            org_slug=org_slug,
            project=project,
            web_url=web_url,
            event_id=event_id,
            culprit=culprit,
            exception_type=exc_type,
            exception_value=exc_value,
        ),
    )


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{where} must be a JSON object")
    return value


def _time(value: object, field: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        raise PayloadError(f"{field} must be an RFC3339 time or epoch seconds") from None


def _labels(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _tags(tags: object) -> dict[str, str]:
    """Event tags as ``tag_<key>`` labels; Sentry sends ``[[k, v], ...]`` (or ``{key, value}``)."""
    out: dict[str, str] = {}
    if not isinstance(tags, list):
        return out
    for tag in tags:
        if isinstance(tag, list | tuple) and len(tag) == 2:
            key, value = tag
        elif isinstance(tag, Mapping):
            key, value = tag.get("key"), tag.get("value")
        else:
            continue
        if key is not None and value is not None:
            out[f"tag_{to_str(key)}"] = to_str(value)
    return out


def _exception(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The exception type/value: metadata first, else the outermost (last) exception value."""
    metadata = event.get("metadata") if isinstance(event.get("metadata"), Mapping) else {}
    exc_type, exc_value = clean_str(metadata.get("type")), clean_str(metadata.get("value"))
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else None
    if isinstance(values, list) and values and isinstance(values[-1], Mapping):
        exc_type = exc_type or clean_str(values[-1].get("type"))
        exc_value = exc_value or clean_str(values[-1].get("value"))
    return exc_type, exc_value


def _issue_from_url(url: object) -> str | None:
    match = _ISSUE_IN_URL.search(url) if isinstance(url, str) else None
    return match.group(1) if match else None


def _org_slug(url: str | None) -> str | None:
    """The organisation slug from ``/organizations/{org}/`` or an ``{org}.sentry.io`` host."""
    if not url:
        return None
    match = _ORG_IN_WEB_URL.search(url)
    if match:
        return match.group(1)
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # "http://[": not a URL, so no organisation in it
        return None
    if host.endswith(".sentry.io"):
        sub = host.removesuffix(".sentry.io")
        if sub and "." not in sub and sub not in _NOT_ORG_SUBDOMAINS:
            return sub
    return None


def _link(url: str | None) -> list[Link]:
    return [Link(title="Sentry", url=url)] if url and is_http_url(url) else []


def _event_key(event_id: str | None, request_id: str | None) -> str | None:
    """An event id is unique per event, so it identifies Sentry's retries of the same delivery."""
    if event_id:
        return f"sentry-event:{event_id}"
    return f"sentry-request:{request_id}" if request_id else None
