"""Malformed input at the edge: what the adversarial run found (issue 11), each answered 4xx naming
the field or taken safely, never 5xx; and the one 5xx path (a bug) counted and logged once.

Parser cases run without servers; API cases on the real Temporal dev server and Valkey.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import structlog
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from temporalio.client import Client

from core.errors import PayloadError
from core.metrics import Metrics
from core.search_attributes import MAX_KEYWORD_BYTES, cut_to_bytes
from core.text import cut_utf8
from starter.api import create_app
from starter.json_body import loads_bounded
from starter.parsers import parse_alertmanager, parse_sentry
from starter.parsers.common import MAX_TEXT_BYTES, UNREADABLE_TITLE, is_http_url, parse_time
from tests.harness import eventually, running, settings_for
from starter.wiring import build_api_deps

ALERTMANAGER = "/api/v1/webhooks/alertmanager"
API_TOKEN = "edge-api-token-5c1e"


def am_alert(**overrides: object) -> dict[str, object]:
    alert: dict[str, object] = {
        "status": "firing",
        "labels": {"alertname": "HighLatency", "service": "api"},
        "annotations": {"description": "p99 over 2s"},
        "startsAt": "2026-05-01T10:00:00Z",
        "fingerprint": uuid.uuid4().hex,
    }
    alert.update(overrides)
    return alert


# ----------------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("url", ["http://[", "http://[::1", "https://h:99999/x", "http://", "ftp://h/x", "/rel"])
def test_a_broken_url_is_not_a_link(url: str) -> None:
    assert not is_http_url(url)
    parsed = parse_alertmanager({"alerts": [am_alert(generatorURL=url)], "externalURL": url}).alerts[0]
    assert parsed.alert.links == [] and parsed.problem is None


def test_a_broken_sentry_url_is_not_a_link() -> None:
    body = {"action": "created", "data": {"issue": {"id": "7", "title": "boom", "permalink": "http://[",
                                                     "project": {"slug": "api"}}}}
    alert = parse_sentry(body, resource="issue").alerts[0].alert
    assert alert.links == [] and alert.sentry is not None and alert.sentry.web_url is None
    event = {"action": "triggered", "data": {"event": {"title": "boom", "issue_id": "8", "web_url": "http://[",
                                                        "url": "http://["}}}
    alert = parse_sentry(event, resource="event_alert").alerts[0].alert
    assert alert.links == [] and alert.sentry is not None and alert.sentry.web_url is None


def test_a_start_past_the_end_of_time_in_utc_names_the_field() -> None:
    with pytest.raises(ValueError):
        parse_time("9999-12-31T23:59:59-14:00")
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.startsAt"):
        parse_alertmanager({"alerts": [am_alert(startsAt="9999-12-31T23:59:59-14:00")]})


@pytest.mark.parametrize("value", [float("inf"), 10**5000, -3, "many", None, True],
                         ids=["inf", "5000-digits", "negative", "text", "null", "bool"])
def test_garbage_truncated_alerts_is_ignored(value: object) -> None:
    result = parse_alertmanager({"alerts": [am_alert()], "truncatedAlerts": value})
    assert 0 <= result.truncated <= 2**31


def test_a_huge_integer_label_becomes_text_without_a_crash() -> None:
    alert = parse_alertmanager({"alerts": [am_alert(labels={"alertname": "A", "n": 10**5000})]}).alerts[0].alert
    assert alert.labels["n"].startswith("<integer of more than")


def test_lone_surrogates_never_reach_the_alert() -> None:
    bad = "a\ud800b\udfff"
    parsed = parse_alertmanager({"alerts": [am_alert(labels={"alertname": bad, "k\udc00": bad},
                                                     annotations={"summary": bad})]}).alerts[0]
    dumped = parsed.alert.model_dump_json()  # what Temporal's converter does; raised before
    assert "\\ud800" not in dumped and parsed.alert.title == "a\ufffdb\ufffd"
    dumped.encode("utf-8")


def test_strings_are_cut_in_utf8_bytes() -> None:
    alert = parse_alertmanager({"alerts": [am_alert(annotations={"description": "告" * 20000})]}).alerts[0].alert
    assert len(alert.annotations["description"].encode()) <= MAX_TEXT_BYTES
    assert cut_utf8("é" * 10, 5) == "éé"


def test_search_attributes_are_cut_to_2048_bytes_on_a_character_boundary() -> None:
    name = "磁碟空間不足" * 200  # 1,200 characters, 3,600 bytes
    cut = cut_to_bytes(name)
    assert len(json.dumps(cut)) <= MAX_KEYWORD_BYTES and name.startswith(cut) and len(cut) == 341
    assert cut_to_bytes("x" * 3000) == "x" * 2046
    assert cut_to_bytes("a\ud800") == "a\ufffd"


def test_one_bad_alert_becomes_an_unreadable_alert_with_an_excerpt() -> None:
    good, bad = am_alert(), am_alert(startsAt="9999-12-31T23:59:59-14:00", labels={"alertname": "A"})
    result = parse_alertmanager({"alerts": [good, bad]})
    assert [p.problem for p in result.alerts][0] is None
    unreadable = result.alerts[1]
    assert unreadable.problem == "alerts[1].startsAt must be an RFC3339 time"
    assert unreadable.alert.title == UNREADABLE_TITLE
    assert unreadable.alert.annotations["problem"] == unreadable.problem
    excerpt = unreadable.alert.annotations["raw_excerpt"]
    assert len(excerpt.encode()) <= 500 and excerpt.isascii() and "9999" in excerpt
    again = parse_alertmanager({"alerts": [good, bad]}).alerts[1]
    assert again.alert.fingerprint == unreadable.alert.fingerprint and again.delivery_key == unreadable.delivery_key


@pytest.mark.parametrize(("raw", "words"), [
    (b'{"a": ' + b"1" * 5000 + b"}", "5000 digits"),
    (b'{"truncatedAlerts": 1e999}', "out of range"),
    (b'{"a": NaN}', "NaN"),
    (b"[" * 100 + b"]" * 100, "nested deeper"),
    (b"[" * 200_000, "nested deeper"),
])
def test_bounded_json_names_the_problem(raw: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words):
        loads_bounded(raw)


def test_bounded_json_replaces_lone_surrogates() -> None:
    assert loads_bounded(b'{"\\ud800": ["\\udfff", "\\ud83d\\ude00"]}') == {"\ufffd": ["\ufffd", "\U0001f600"]}


# --------------------------------------------------------------------------------------- API


def group(*alerts: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"status": "firing", "alerts": list(alerts), **extra}).encode()


API_CASES = [
    pytest.param(group(am_alert(generatorURL="http://[")), 200, "started", id="generatorURL-http-["),
    pytest.param(group(am_alert(), externalURL="http://["), 200, "started", id="externalURL-http-["),
    pytest.param(group(am_alert(startsAt="9999-12-31T23:59:59-14:00")), 422, "alerts[0].startsAt",
                 id="startsAt-9999-minus-14"),
    pytest.param(b'{"alerts": [{"labels": {"alertname": "A"}, "status": "firing"}], "truncatedAlerts": 1e999}',
                 422, "out of range", id="truncatedAlerts-1e999"),
    pytest.param(b'{"alerts": [{"labels": {"alertname": "A"}, "status": "firing"}], "n": ' + b"9" * 5000 + b"}",
                 422, "5000 digits", id="5000-digit-integer"),
    pytest.param(group(am_alert(labels={"alertname": "lone \ud800 surrogate"})), 200, "started", id="surrogate"),
    pytest.param(group(am_alert(labels={"alertname": "磁碟空間不足" * 150, "service": "服務" * 1000})), 200,
                 "started", id="long-non-ascii-name"),
    pytest.param(group(am_alert(labels={"alertname": "x" * 3000, "service": "😀" * 400})), 200, "started",
                 id="long-ascii-name-emoji-service"),
]


@pytest.mark.parametrize(("raw", "status", "expect"), API_CASES)
async def test_adversarial_inputs_are_4xx_or_taken(temporal_client, valkey_url, redis, task_queue,
                                                   raw, status, expect) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        response = await app.api.post(ALERTMANAGER, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        assert [a["status"] for a in body["alerts"]] == [expect], body
    else:
        assert expect in body["detail"], body


@pytest.mark.parametrize(("raw", "words"), [
    (b"[" * 5000 + b"]" * 5000, "nested deeper"),
    (b'{"by": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper"),
    (b'"just a string"', "JSON object"),
    (b"[1, 2]", "JSON object"),
    (b'{"by": 12}', "JSON object"),
    (b'{"by": 1' + b"0" * 5000 + b"}", "digits"),
    (b"\xff\xfe", "JSON"),
])
async def test_approve_and_reject_bodies_are_422(temporal_client, valkey_url, redis, task_queue, raw, words) -> None:
    settings = settings_for(valkey_url, task_queue, api_token=API_TOKEN)
    async with running(temporal_client, settings, worker=False) as app:
        for verb in ("approve", "reject"):
            response = await app.api.post(f"/api/v1/incidents/alertmanager-nope/{verb}", content=raw,
                                          headers={"authorization": f"Bearer {API_TOKEN}"})
            assert response.status_code == 422, response.text
            assert words in response.json()["detail"]


async def test_huge_strings_and_odd_incident_ids_on_approve_are_4xx(temporal_client, valkey_url, redis,
                                                                    task_queue) -> None:
    settings = settings_for(valkey_url, task_queue, api_token=API_TOKEN)
    auth = {"authorization": f"Bearer {API_TOKEN}"}
    async with running(temporal_client, settings, worker=False) as app:
        huge = await app.api.post("/api/v1/incidents/alertmanager-nope/approve",
                                  content=json.dumps({"by": "\ud800" * 10 + "x" * 900_000, "note": "y" * 50_000}),
                                  headers=auth)
        assert huge.status_code == 404, huge.text
        odd = await app.api.post("/api/v1/incidents/" + "a%20b" * 300 + "/approve", json={}, headers=auth)
        assert odd.status_code == 422 and "incident_id" in odd.json()["detail"]


# ---------------------------------------------------------------------------------------- 5xx


async def test_an_unexpected_exception_is_one_500_counted_and_logged_with_traceback(
        temporal_client: Client, valkey_url: str, task_queue: str) -> None:
    """A route bug (here a route added for the test that raises) is answered 500 with the request id,
    counted in awoooi_webhook_requests_total and awoooi_api_errors_total, and logged once."""
    settings = settings_for(valkey_url, task_queue)
    metrics = Metrics(CollectorRegistry())
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    async with httpx.AsyncClient() as http:
        app = create_app(build_api_deps(settings, temporal_client, redis, http, metrics))

        async def broken() -> None:
            raise KeyError("a bug")

        app.add_api_route("/api/v1/webhooks/alertmanager/broken", broken, methods=["POST"])
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=True),
                                base_url="http://awoooi.test")
        with structlog.testing.capture_logs() as events:
            response = await api.post("/api/v1/webhooks/alertmanager/broken", headers={"x-request-id": "req-42"})
            generated = await api.post("/api/v1/webhooks/alertmanager/broken")
        await api.aclose()
    await redis.aclose()
    assert response.status_code == 500 and response.json()["request_id"] == "req-42"
    assert response.headers["x-request-id"] == "req-42"
    assert len(generated.headers["x-request-id"]) == 32
    errors = [e for e in events if e["event"] == "unhandled error"]
    assert len(errors) == 2
    assert errors[0]["path"] == "/api/v1/webhooks/alertmanager/broken" and errors[0]["request_id"] == "req-42"
    assert "KeyError: 'a bug'" in errors[0]["traceback"] and "Traceback" in errors[0]["traceback"]
    assert metrics.registry.get_sample_value(
        "awoooi_webhook_requests_total", {"source": "alertmanager", "code": "500"}) == 2
    assert metrics.registry.get_sample_value(
        "awoooi_api_errors_total", {"route": "/api/v1/webhooks/alertmanager/broken", "code": "500"}) == 2


async def test_every_answer_carries_a_request_id(temporal_client, valkey_url, redis, task_queue) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        sentry_id = await app.api.get("/api/v1/health", headers={"request-id": "sentry-abc"})
        unsafe = await app.api.get("/api/v1/health", headers={"x-request-id": "bad id\twith spaces"})
    assert sentry_id.headers["x-request-id"] == "sentry-abc"
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_an_unreadable_alert_becomes_a_visible_card(temporal_client, valkey_url, redis, task_queue,
                                                          telegram, sentry) -> None:
    """End to end with the worker: the bad alert of a group gets its own card saying what was wrong,
    beside the good alert's card, so nothing a sender delivered is lost silently."""
    good = am_alert(labels={"alertname": "DiskFull", "service": "db"})
    bad = am_alert(startsAt="9999-12-31T23:59:59-14:00", labels={"alertname": "BadClock", "service": "db"})
    async with running(temporal_client, settings_for(valkey_url, task_queue, telegram, sentry)) as app:
        response = await app.api.post(ALERTMANAGER, content=group(good, bad),
                                      headers={"content-type": "application/json"})
        assert [a["status"] for a in response.json()["alerts"]] == ["started", "rejected"]
        await eventually(lambda: len(telegram.sent) >= 2, what="two cards")
    texts = [m["text"] for m in telegram.sent]
    unreadable = next(t for t in texts if UNREADABLE_TITLE in t)
    assert "alerts[1].startsAt" in unreadable
    assert any("DiskFull" in t for t in texts)

