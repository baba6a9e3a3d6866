"""Every saved real payload must parse into the alerts the pipeline expects, and bad bodies must fail
with a message that names the field (the sender's operator reads it in their logs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.errors import PayloadError
from core.identity import labels_fingerprint, resolved_delivery_id
from core.models import AlertStatus, Link, SentryRef, Severity, Source
from starter.parsers import (
    Ignored,
    ParseResult,
    infer_service,
    normalize_severity,
    parse_alertmanager,
    parse_sentry,
    parse_signoz,
    parse_time,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def parse_fixture(name: str) -> ParseResult:
    body = load(name)
    if name.startswith("alertmanager_"):
        return parse_alertmanager(body)
    if name.startswith("signoz_"):
        return parse_signoz(body)
    if name.startswith("sentry_"):
        return parse_sentry(body, resource=None)
    raise AssertionError(f"no parser for {name}")


ALERT_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.json") if not p.name.startswith("telegram_"))


@pytest.mark.parametrize("name", ALERT_FIXTURES)
def test_every_fixture_is_accepted(name: str) -> None:
    result = parse_fixture(name)
    assert result.alerts or result.ignored is not None
    for parsed in result.alerts:
        alert = parsed.alert
        assert alert.fingerprint and alert.title
        assert alert.starts_at is None or alert.starts_at.tzinfo is not None
        assert alert.starts_at is None or alert.starts_at.utcoffset().total_seconds() == 0


# ------------------------------------------------------------------------------------ common


def test_nanosecond_timestamp_parses_to_the_right_utc_instant() -> None:
    parsed = parse_time("2023-03-25T14:39:51.68943305+08:00")
    assert parsed == datetime(2023, 3, 25, 6, 39, 51, 689433, tzinfo=UTC)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0001-01-01T00:00:00Z", None),
        (None, None),
        ("", None),
        ("2022-07-29T11:13:27.3Z", datetime(2022, 7, 29, 11, 13, 27, 300000, tzinfo=UTC)),
        ("2022-04-25T14:35:19.490146+05:30", datetime(2022, 4, 25, 9, 5, 19, 490146, tzinfo=UTC)),
        ("2020-09-13T12:26:40Z", datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)),
        (1576778299.5, datetime(2019, 12, 19, 17, 58, 19, 500000, tzinfo=UTC)),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_time("yesterday")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("P1", Severity.CRITICAL),
        ("fatal", Severity.CRITICAL),
        ("High", Severity.CRITICAL),
        ("exception", Severity.ERROR),
        ("major", Severity.ERROR),
        ("Warning", Severity.WARNING),
        ("minor", Severity.WARNING),
        ("informational", Severity.INFO),
        ("debug", Severity.INFO),
        ("p5", Severity.INFO),
        ("bogus", Severity.WARNING),
        (None, Severity.WARNING),
    ],
)
def test_normalize_severity(raw: object, expected: Severity) -> None:
    assert normalize_severity(raw) is expected


def test_infer_service_order() -> None:
    assert infer_service({"instance": "i", "job": "j", "service.name": "svc"}) == "svc"
    assert infer_service({"namespace": "ns", "instance": "i"}) == "ns"
    assert infer_service({"service": "", "app": "a"}) == "a"
    assert infer_service({"host": "h"}) == "unknown"


# ------------------------------------------------------------------------------ alertmanager


def test_grouped_firing_gives_three_distinct_alerts() -> None:
    result = parse_fixture("alertmanager_v4_firing_grouped.json")
    assert result.truncated == 0 and result.ignored is None
    assert len(result.alerts) == 3
    assert [p.alert.fingerprint for p in result.alerts] == [
        "72a2002704e27a2e",
        "ba18df1a61fe8e0b",
        "5a6e9db40eb24b04",
    ]
    first = result.alerts[0]
    assert first.delivery_key is None  # every firing delivery is an occurrence
    alert = first.alert
    assert alert.source is Source.ALERTMANAGER
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "主机CPU使用率"
    assert alert.severity is Severity.ERROR  # "exception"
    assert alert.service == "k8s-node1:9101"
    assert alert.starts_at == datetime(2023, 3, 25, 6, 39, 51, 689433, tzinfo=UTC)
    assert alert.ends_at is None  # Go zero time
    assert alert.annotations["summary"] == "444"
    assert alert.links[0].title == "Source"
    assert alert.links[0].url.startswith("http://k8s-node1:9090/graph?g0.expr=")
    assert alert.links[1] == Link(title="Alertmanager", url="http://k8s-node1:9093")
    assert {p.alert.service for p in result.alerts} == {
        "k8s-node1:9101",
        "k8s-node2:9101",
        "k8s-node3:9101",
    }


def test_zulip_grouped_fixture() -> None:
    result = parse_fixture("alertmanager_v4_firing_grouped_zulip_fixture.json")
    assert [p.alert.fingerprint for p in result.alerts] == ["a1bc48475b20e73d", "c2ea85182f28cbd9"]
    alert = result.alerts[0].alert
    assert alert.severity is Severity.CRITICAL
    assert alert.service == "unknown"  # only a "host" label
    assert alert.description == "CPU core temperature is 34.75C"
    assert alert.starts_at == datetime(2020, 2, 6, 0, 17, 58, 432911, tzinfo=UTC)


def test_resolved_single_skips_relative_generator_url() -> None:
    result = parse_fixture("alertmanager_v4_resolved_single.json")
    assert len(result.alerts) == 1
    parsed = result.alerts[0]
    alert = parsed.alert
    assert alert.status is AlertStatus.RESOLVED
    assert alert.fingerprint == "fbab788ec4c1018b"
    assert alert.severity is Severity.WARNING  # "Warning"
    assert alert.service == "eric-pm-kube-state-metrics"  # app_kubernetes_io_name before deployment
    assert alert.links == [Link(title="Alertmanager", url="http://localhost:9093")]
    assert alert.ends_at == datetime(2022, 7, 29, 11, 17, 27, 300000, tzinfo=UTC)
    assert parsed.delivery_key == resolved_delivery_id(alert)
    assert parsed.delivery_key == (
        "alertmanager-fbab788ec4c1018b:resolved:"
        "2022-07-29T11:13:27.300000+00:00:2022-07-29T11:17:27.300000+00:00"
    )


def test_resolved_cloudeon_defaults_severity_and_uses_job() -> None:
    parsed = parse_fixture("alertmanager_v4_resolved_cloudeon.json").alerts[0]
    assert parsed.alert.status is AlertStatus.RESOLVED
    assert parsed.alert.severity is Severity.WARNING  # no severity label (it uses alertLevel)
    assert parsed.alert.service == "grafana"
    assert parsed.alert.title == "Grafana进程存活"
    assert parsed.alert.ends_at == datetime(2023, 3, 25, 7, 27, 51, 39625, tzinfo=UTC)
    assert parsed.delivery_key == resolved_delivery_id(parsed.alert)


def test_resolved_with_notification_reason_is_accepted() -> None:
    result = parse_fixture("alertmanager_v4_resolved_with_notification_reason.json")
    alert = result.alerts[0].alert
    assert alert.status is AlertStatus.RESOLVED
    assert alert.fingerprint == "1c90b4a513296c21"
    assert alert.severity is Severity.CRITICAL
    assert alert.service == "synthetic-uptime-monitor"
    assert alert.labels["status"] == "error"  # a label named status is just a label
    assert alert.links[1] == Link(title="Alertmanager", url="http://d52214f6e7d0:9093")


def _am_alert(**overrides: object) -> dict[str, object]:
    alert: dict[str, object] = {
        "status": "firing",
        "labels": {"alertname": "HighLatency", "service": "api", "severity": "page"},
        "annotations": {"description": "p99 over 2s"},
        "startsAt": "2024-05-01T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
    }
    alert.update(overrides)
    return alert


def test_mixed_group_missing_fingerprint_numbers_and_truncation() -> None:
    body = {
        "version": "4",
        "status": "firing",
        "externalURL": "/alertmanager",
        "truncatedAlerts": 7,
        "routeLabels": {"team": "x"},
        "alerts": [
            _am_alert(labels={"alertname": "HighLatency", "service": "api", "replicas": 3, "ok": True}),
            _am_alert(status="resolved", endsAt="2024-05-01T10:05:00Z", fingerprint="abc"),
        ],
    }
    result = parse_alertmanager(body)
    assert result.truncated == 7
    firing, resolved = (p.alert for p in result.alerts)
    assert firing.status is AlertStatus.FIRING and resolved.status is AlertStatus.RESOLVED
    assert firing.labels == {"alertname": "HighLatency", "service": "api", "replicas": "3", "ok": "true"}
    assert firing.fingerprint == labels_fingerprint(firing.labels)
    assert firing.links == []  # empty generatorURL, relative externalURL
    assert firing.severity is Severity.WARNING
    assert resolved.severity is Severity.CRITICAL  # "page"
    assert result.alerts[0].delivery_key is None
    assert result.alerts[1].delivery_key == resolved_delivery_id(resolved)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body must be a JSON object"),
        ("alerts", "body must be a JSON object"),
        ({"alerts": []}, "alerts must be a non-empty list"),
        ({"status": "firing"}, "alerts must be a non-empty list"),
        ({"alerts": ["x"]}, "alerts[0] must be a JSON object"),
        ({"alerts": [_am_alert(status="pending")]}, "alerts[0].status must be 'firing' or 'resolved'"),
        ({"alerts": [_am_alert(labels={"severity": "critical"})]}, "alerts[0].labels.alertname is required"),
        ({"alerts": [_am_alert(labels=None)]}, "alerts[0].labels must be a JSON object"),
        ({"alerts": [_am_alert(annotations=["x"])]}, "alerts[0].annotations must be a JSON object"),
        ({"alerts": [_am_alert(startsAt="soon")]}, "alerts[0].startsAt must be an RFC3339 time"),
    ],
)
def test_malformed_alertmanager_bodies(body: object, message: str) -> None:
    with pytest.raises(PayloadError) as exc_info:
        parse_alertmanager(body)
    assert str(exc_info.value) == message


def test_missing_alert_status_falls_back_to_group_status() -> None:
    raw = _am_alert()
    del raw["status"]
    result = parse_alertmanager({"status": "firing", "alerts": [raw]})
    assert result.alerts[0].alert.status is AlertStatus.FIRING


# ------------------------------------------------------------------------------------ signoz


def test_signoz_doc_sample() -> None:
    result = parse_fixture("signoz_alert.json")
    assert len(result.alerts) == 1
    parsed = result.alerts[0]
    alert = parsed.alert
    assert alert.source is Source.SIGNOZ
    assert alert.fingerprint == "ad592b0afcbe2e79"
    assert alert.title == "DiskRunningFull"
    assert alert.severity is Severity.CRITICAL
    assert alert.service == "example3"
    assert alert.annotations["info"] == "The disk sda3 is running full"
    assert alert.description == "please check the instance example1"  # summary outranks info
    assert alert.starts_at == datetime(2022, 4, 25, 9, 5, 19, 490146, tzinfo=UTC)
    assert alert.links == [Link(title="SigNoz", url="http://Apples-MacBook-Pro-3.local:9093")]
    assert parsed.delivery_key is None


def test_signoz_nodata_keeps_prefix_labels_and_raises_severity() -> None:
    body = load("signoz_alert.json")
    body["alerts"][0]["labels"] = {
        "alertname": "[No data] checkout latency",
        "ruleId": 42,
        "ruleSource": "http://signoz:3301/alerts/edit?ruleId=42",
        "nodata": "true",
        "severity": "info",
        "service_name": "checkout",
    }
    alert = parse_signoz(body).alerts[0].alert
    assert alert.title == "[No data] checkout latency"
    assert alert.severity is Severity.WARNING
    assert alert.service == "checkout"
    assert alert.labels["ruleId"] == "42"
    assert alert.labels["nodata"] == "true"
    assert alert.labels["ruleSource"].startswith("http://signoz")


def test_signoz_flat_alert() -> None:
    body = {
        "alertname": "HighErrorRate",
        "status": "resolved",
        "labels": {"service.name": "payments", "severity": "error"},
        "annotations": {"description": "5xx above 5%"},
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": "2024-05-01T10:10:00Z",
        "generatorURL": "https://signoz.example.com/alerts/edit?ruleId=7",
    }
    result = parse_signoz(body)
    parsed = result.alerts[0]
    alert = parsed.alert
    assert alert.source is Source.SIGNOZ
    assert alert.status is AlertStatus.RESOLVED
    assert alert.title == "HighErrorRate"
    assert alert.labels["alertname"] == "HighErrorRate"
    assert alert.service == "payments"
    assert alert.severity is Severity.ERROR
    assert alert.fingerprint == labels_fingerprint(alert.labels)
    assert alert.links == [Link(title="Source", url="https://signoz.example.com/alerts/edit?ruleId=7")]
    assert parsed.delivery_key == resolved_delivery_id(alert)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1], "body must be a JSON object"),
        ({"alerts": []}, "alerts must be a non-empty list"),
        ({"status": "firing", "labels": {}}, "labels.alertname is required"),
        ({"alertname": "x", "status": "bad", "labels": {}}, "status must be 'firing' or 'resolved'"),
    ],
)
def test_malformed_signoz_bodies(body: object, message: str) -> None:
    with pytest.raises(PayloadError) as exc_info:
        parse_signoz(body)
    assert str(exc_info.value) == message


# ------------------------------------------------------------------------------------ sentry


def test_sentry_issue_alert_triggered() -> None:
    result = parse_sentry(load("sentry_issue_alert_triggered.json"), resource="event_alert")
    assert result.ignored is None and len(result.alerts) == 1
    parsed = result.alerts[0]
    alert = parsed.alert
    assert parsed.delivery_key == "sentry-event:e4874d664c3540c1a32eab185f12c5ab"
    assert alert.source is Source.SENTRY
    assert alert.status is AlertStatus.FIRING
    assert alert.fingerprint == "issue-1117540176"
    assert alert.title == "ReferenceError: heck is not defined"
    assert alert.severity is Severity.ERROR
    assert alert.service == "front-end"
    assert alert.labels["alertname"] == "ReferenceError"
    assert alert.labels["rule"] == "Very Important Alert Rule!"
    assert alert.labels["tag_browser.name"] == "Chrome"
    assert alert.labels["platform"] == "javascript"
    assert alert.annotations == {"description": "heck is not defined"}
    web_url = "https://sentry.io/organizations/test-org/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
    assert alert.links == [Link(title="Sentry", url=web_url)]
    assert alert.starts_at == datetime(2019, 8, 19, 21, 6, 17, 677000, tzinfo=UTC)
    assert alert.sentry == SentryRef(
        issue_id="1117540176",
        org_slug="test-org",
        project="front-end",
        web_url=web_url,
        event_id="e4874d664c3540c1a32eab185f12c5ab",
        culprit="?(<anonymous>)",
        exception_type="ReferenceError",
        exception_value="heck is not defined",
    )


def test_sentry_resource_is_inferred_when_header_missing() -> None:
    with_header = parse_sentry(load("sentry_issue_alert_triggered.json"), resource="event_alert")
    without = parse_sentry(load("sentry_issue_alert_triggered.json"), resource=None)
    assert with_header == without


def test_sentry_error_created() -> None:
    result = parse_sentry(load("sentry_error_created.json"), resource="error")
    parsed = result.alerts[0]
    alert = parsed.alert
    assert parsed.delivery_key == "sentry-event:bb78c1407cea4519aa397afc059c793d"
    assert alert.fingerprint == "issue-1170820242"
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "ReferenceError: blooopy is not defined"
    assert alert.service == "front-end"
    assert "rule" not in alert.labels
    assert alert.sentry is not None
    assert alert.sentry.org_slug == "test-org"
    assert alert.sentry.issue_id == "1170820242"
    assert alert.sentry.exception_value == "blooopy is not defined"


def test_sentry_event_issue_id_from_issue_url_and_project_fallback() -> None:
    body = load("sentry_error_created.json")
    error = body["data"]["error"]
    del error["issue_id"], error["url"], error["metadata"]
    alert = parse_sentry(body, resource="error").alerts[0].alert
    assert alert.fingerprint == "issue-1170820242"
    assert alert.service == "1"  # str(project) when there is no API url
    assert alert.sentry is not None and alert.sentry.exception_type == "ReferenceError"


def test_sentry_issue_created() -> None:
    result = parse_sentry(load("sentry_issue_created.json"), resource="issue", request_id="req-1")
    parsed = result.alerts[0]
    alert = parsed.alert
    assert parsed.delivery_key == "sentry-issue:1170820242:created:req-1"
    assert alert.status is AlertStatus.FIRING
    assert alert.fingerprint == "issue-1170820242"  # same incident as the error/event for it
    assert alert.title == "ReferenceError: blooopy is not defined"
    assert alert.severity is Severity.ERROR
    assert alert.service == "front-end"
    assert alert.links == []  # permalink is null
    assert alert.sentry == SentryRef(
        issue_id="1170820242",
        short_id="FRONT-END-9",
        project="front-end",
        culprit="?(runner)",
        exception_type="ReferenceError",
        exception_value="blooopy is not defined",
    )


def test_sentry_issue_created_zulip_without_request_id() -> None:
    parsed = parse_fixture("sentry_issue_created_zulip_fixture.json").alerts[0]
    assert parsed.delivery_key == "sentry-issue:1635244907:created:2020-04-28T13:56:05.903736Z"
    assert parsed.alert.service == "zulip-integration-testing"
    assert parsed.alert.title == "Exception: Custom exception!"
    assert parsed.alert.sentry is not None
    assert parsed.alert.sentry.short_id == "ZULIP-INTEGRATION-TESTING-2"


def test_sentry_issue_unresolved_fires_with_permalink() -> None:
    body = load("sentry_issue_created.json")
    body["action"] = "unresolved"
    body["data"]["issue"]["permalink"] = "https://acme.sentry.io/issues/1170820242/"
    parsed = parse_sentry(body, resource="issue").alerts[0]
    assert parsed.alert.status is AlertStatus.FIRING
    assert parsed.alert.links == [Link(title="Sentry", url="https://acme.sentry.io/issues/1170820242/")]
    assert parsed.alert.sentry is not None and parsed.alert.sentry.org_slug == "acme"
    assert parsed.delivery_key == "sentry-issue:1170820242:unresolved:2019-08-19T20:58:37.391000Z"


def test_sentry_issue_resolved() -> None:
    result = parse_sentry(load("sentry_issue_resolved_zulip_fixture.json"), resource="issue", request_id="r")
    parsed = result.alerts[0]
    assert parsed.alert.status is AlertStatus.RESOLVED
    assert parsed.alert.fingerprint == "issue-1638821441"
    assert parsed.delivery_key == "sentry-issue:1638821441:resolved:2020-04-30T05:54:15.092476Z"


def test_sentry_issue_assigned_is_ignored() -> None:
    result = parse_sentry(load("sentry_issue_assigned_zulip_fixture.json"), resource="issue")
    assert result.alerts == []
    assert result.ignored == Ignored(reason="sentry issue action 'assigned' is not an alert")


@pytest.mark.parametrize("action", ["ignored", "archived"])
def test_sentry_issue_other_actions_are_ignored(action: str) -> None:
    body = load("sentry_issue_created.json")
    body["action"] = action
    result = parse_sentry(body, resource="issue")
    assert result.ignored == Ignored(reason=f"sentry issue action '{action}' is not an alert")


def test_sentry_comment_is_ignored_to_avoid_a_loop() -> None:
    for resource in ("comment", None):
        result = parse_sentry(load("sentry_comment_created.json"), resource=resource)
        assert result.alerts == []
        assert result.ignored == Ignored(reason="sentry resource 'comment' is not an alert")


@pytest.mark.parametrize("resource", ["installation", "uninstall", "seer"])
def test_sentry_other_resources_are_ignored(resource: str) -> None:
    result = parse_sentry({"action": "created", "data": {}}, resource=resource)
    assert result.ignored == Ignored(reason=f"sentry resource '{resource}' is not an alert")


def test_sentry_unknown_event_alert_action_is_ignored() -> None:
    body = load("sentry_issue_alert_triggered.json")
    body["action"] = "snoozed"
    result = parse_sentry(body, resource="event_alert")
    assert result.alerts == [] and result.ignored is not None


def test_sentry_metric_alert_resolved() -> None:
    result = parse_sentry(load("sentry_metric_alert_resolved.json"), resource="metric_alert")
    parsed = result.alerts[0]
    alert = parsed.alert
    assert parsed.delivery_key == "sentry-metric:4:resolved:2020-09-13T12:26:40.000000Z"
    assert alert.status is AlertStatus.RESOLVED
    assert alert.fingerprint == "metric-4"
    assert alert.title == "Too many errors"
    assert alert.service == "bar"
    assert alert.description.startswith("1000 events in the last 10 minutes")
    assert alert.links == [Link(title="Sentry", url="https://sentry.io/organizations/baz/alerts/1/")]
    assert alert.sentry == SentryRef(
        org_slug="baz", project="bar", web_url="https://sentry.io/organizations/baz/alerts/1/"
    )
    assert alert.starts_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


@pytest.mark.parametrize(("action", "severity"), [("critical", Severity.CRITICAL), ("warning", Severity.WARNING)])
def test_sentry_metric_alert_firing(action: str, severity: Severity) -> None:
    body = load("sentry_metric_alert_resolved.json")
    body["action"] = action
    parsed = parse_sentry(body, resource="metric_alert").alerts[0]
    assert parsed.alert.status is AlertStatus.FIRING
    assert parsed.alert.severity is severity
    assert parsed.alert.fingerprint == "metric-4"
    assert parsed.delivery_key == f"sentry-metric:4:{action}:2020-09-13T12:26:40.000000Z"


def test_sentry_legacy_plugin() -> None:
    result = parse_fixture("sentry_legacy_webhooks_plugin.json")
    parsed = result.alerts[0]
    alert = parsed.alert
    url = "https://sentry.io/organizations/meredith/issues/1385042923/?referrer=webhooks_plugin"
    assert parsed.delivery_key == "sentry-event:af17d39f6a5d4c19ae5a735043a3bd97"
    assert alert.status is AlertStatus.FIRING
    assert alert.fingerprint == "issue-1385042923"
    assert alert.title == "ReferenceError: hello is not defined"
    assert alert.severity is Severity.ERROR
    assert alert.service == "meow"
    assert alert.labels["rule"] == "Webhook Test"
    assert alert.links == [Link(title="Sentry", url=url)]
    assert alert.sentry == SentryRef(
        issue_id="1385042923",
        org_slug="meredith",
        project="meow",
        web_url=url,
        event_id="af17d39f6a5d4c19ae5a735043a3bd97",
        culprit="?(runner)",
        exception_type="ReferenceError",
        exception_value="hello is not defined",
    )


@pytest.mark.parametrize(
    ("level", "severity"),
    [("fatal", Severity.CRITICAL), ("warning", Severity.WARNING), ("info", Severity.INFO), ("debug", Severity.INFO)],
)
def test_sentry_levels(level: str, severity: Severity) -> None:
    body = load("sentry_issue_alert_triggered.json")
    body["data"]["event"]["level"] = level
    assert parse_sentry(body, resource="event_alert").alerts[0].alert.severity is severity


def _without_event_title() -> dict[str, Any]:
    body = load("sentry_issue_alert_triggered.json")
    del body["data"]["event"]["title"]
    return body


def _issue_without_id() -> dict[str, Any]:
    body = load("sentry_issue_created.json")
    del body["data"]["issue"]["id"]
    return body


@pytest.mark.parametrize(
    ("body", "resource", "message"),
    [
        (["not", "an", "object"], "event_alert", "body must be a JSON object"),
        (_without_event_title(), "event_alert", "data.event.title is required"),
        (_issue_without_id(), "issue", "data.issue.id is required"),
        ({"action": "triggered", "data": {"event": "x"}}, "event_alert", "data.event must be a JSON object"),
        ({"action": "created", "data": {}}, "issue", "data.issue must be a JSON object"),
    ],
)
def test_malformed_sentry_bodies(body: object, resource: str, message: str) -> None:
    with pytest.raises(PayloadError) as exc_info:
        parse_sentry(body, resource=resource)
    assert str(exc_info.value) == message


def test_sentry_unrecognisable_body_without_header() -> None:
    with pytest.raises(PayloadError, match="Sentry-Hook-Resource"):
        parse_sentry({"hello": "world"}, resource=None)
