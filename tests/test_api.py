"""The webhook API on the real Temporal dev server and real Valkey: auth, malformed bodies, Temporal
down, health, Telegram status, metrics, answer shape, and secrets never reaching a log or a response.

"Nothing started" is checked twice: the workflow id the alert would get (core.identity) does not
exist on the server, and no workflow at all exists on the test's own task queue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from temporalio.client import Client
from core.converter import data_converter
from temporalio.service import RPCError, RPCStatusCode

from core.identity import anomaly_key, incident_id, workflow_id
from starter.embedded import free_port
from starter.parsers import parse_alertmanager, parse_sentry, parse_signoz
from tests.conftest import fixture_bytes
from tests.harness import Running, eventually, running, settings_for

ALERTMANAGER = "/api/v1/webhooks/alertmanager"
SIGNOZ = "/api/v1/webhooks/signoz"
SENTRY = "/api/v1/webhooks/sentry"
HEALTH = "/api/v1/health"
TELEGRAM_STATUS = "/api/v1/telegram/status"

WEBHOOK_TOKEN = "whk-9d81c0f4e2-webhook-token"
CLIENT_SECRET = "sentry-client-secret-5b7e0a13"
JSON = {"content-type": "application/json"}
ANSWER_STATUSES = {"started", "updated", "duplicate", "ignored"}


# ------------------------------------------------------------------------------------------ helpers


def bearer(token: str = WEBHOOK_TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def basic(user: str, password: str = WEBHOOK_TOKEN) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sign(raw: bytes, secret: str = CLIENT_SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def unique_alertmanager(name: str = "alertmanager_v4_firing_grouped.json") -> tuple[bytes, list[str]]:
    """The fixture with fresh fingerprints (workflow ids live on across tests on the shared server)."""
    payload = json.loads(fixture_bytes(name))
    tag = uuid.uuid4().hex[:12]
    for alert in payload["alerts"]:
        alert["fingerprint"] = f"{alert.get('fingerprint', 'fp')}-{tag}"
    ids = [workflow_id(p.alert) for p in parse_alertmanager(payload).alerts]
    return json.dumps(payload).encode(), ids


def unique_signoz() -> tuple[bytes, list[str]]:
    payload = json.loads(fixture_bytes("signoz_alert.json"))
    tag = uuid.uuid4().hex[:12]
    for alert in payload["alerts"]:
        alert["fingerprint"] = f"{alert['fingerprint']}-{tag}"
    ids = [workflow_id(p.alert) for p in parse_signoz(payload).alerts]
    return json.dumps(payload).encode(), ids


def unique_sentry_payload() -> dict[str, Any]:
    payload = json.loads(fixture_bytes("sentry_issue_alert_triggered.json"))
    issue = str(uuid.uuid4().int % 10**12)
    event = payload["data"]["event"]
    event["issue_id"] = issue
    event["issue_url"] = f"https://sentry.io/api/0/issues/{issue}/"
    event["event_id"] = uuid.uuid4().hex
    return payload


def unique_sentry() -> tuple[bytes, list[str]]:
    payload = unique_sentry_payload()
    ids = [workflow_id(p.alert) for p in parse_sentry(payload, resource="event_alert").alerts]
    return json.dumps(payload).encode(), ids


def sentry_headers(raw: bytes | None = None, *, signature: str | None = None, resource: str = "event_alert",
                   request_id: str | None = None) -> dict[str, str]:
    headers = {**JSON, "sentry-hook-resource": resource, "sentry-hook-timestamp": str(int(time.time()))}
    if signature is None and raw is not None:
        signature = sign(raw)
    if signature is not None:
        headers["sentry-hook-signature"] = signature
    headers["request-id"] = request_id or str(uuid.uuid4())
    return headers


async def assert_not_started(client: Client, task_queue: str, workflow_ids: list[str] = ()) -> None:  # type: ignore[assignment]
    for wid in workflow_ids:
        with pytest.raises(RPCError) as info:
            await client.get_workflow_handle(wid).describe()
        assert info.value.status is RPCStatusCode.NOT_FOUND, wid
        assert (await client.count_workflows(f"WorkflowId = '{wid}'")).count == 0
        assert [w async for w in client.list_workflows(f"WorkflowId = '{wid}'")] == []
    assert (await client.count_workflows(f"TaskQueue = '{task_queue}'")).count == 0


def assert_answers(body: dict[str, Any], workflow_ids: list[str] | None = None) -> None:
    assert body["alerts"], body
    for answer in body["alerts"]:
        assert answer["status"] in ANSWER_STATUSES, answer
        for key in ("workflow_id", "incident_id", "anomaly_key"):
            assert isinstance(answer[key], str) and answer[key], (key, answer)
        assert answer["workflow_id"] == "incident-" + answer["incident_id"]
    if workflow_ids is not None:
        assert [a["workflow_id"] for a in body["alerts"]] == workflow_ids


def assert_error(response, status: int, *words: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    detail = body["detail"]
    assert isinstance(detail, str) and detail
    for word in words:
        assert word.lower() in detail.lower(), (word, detail)


async def dead_temporal() -> Client:
    """A client for a port nothing listens on; lazy, so building it does not fail."""
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, data_converter=data_converter)


@asynccontextmanager
async def api_without_temporal(valkey_url: str, task_queue: str, **overrides: Any) -> AsyncIterator[Running]:
    settings = settings_for(valkey_url, task_queue, temporal_rpc_timeout_seconds=1, **overrides)
    async with running(await dead_temporal(), settings, worker=False) as app:
        yield app


# ------------------------------------------------------------------------------------------- auth


@pytest.mark.parametrize("path", [ALERTMANAGER, SIGNOZ])
async def test_shared_token_is_required(temporal_client, valkey_url, redis, task_queue, telegram, path) -> None:
    raw, ids = unique_alertmanager() if path == ALERTMANAGER else unique_signoz()
    settings = settings_for(valkey_url, task_queue, telegram, webhook_token=WEBHOOK_TOKEN)
    async with running(temporal_client, settings) as app:
        rejected = [
            {},
            bearer("wrong-token"),
            bearer(WEBHOOK_TOKEN + "x"),
            {"authorization": WEBHOOK_TOKEN},
            basic(WEBHOOK_TOKEN, "wrong"),
            {"x-webhook-token": WEBHOOK_TOKEN},
        ]
        for headers in rejected:
            response = await app.api.post(path, content=raw, headers={**JSON, **headers})
            assert_error(response, 401, "token")
            assert WEBHOOK_TOKEN not in response.text
        await assert_not_started(app.client, task_queue, ids)
        assert telegram.calls == []

        accepted = await app.api.post(path, content=raw, headers={**JSON, **bearer()})
        assert accepted.status_code == 200, accepted.text
        assert_answers(accepted.json(), ids)
        assert {a["status"] for a in accepted.json()["alerts"]} == {"started"}
        # The worker is live: the accepted delivery gets its cards, the rejected ones got none.
        await eventually(lambda: len(telegram.sent) == len(ids), what="cards for the accepted delivery")

        for user in ("alertmanager", "", "signoz"):
            again = await app.api.post(path, content=raw, headers={**JSON, **basic(user)})
            assert again.status_code == 200, again.text
            assert_answers(again.json(), ids)
            assert {a["status"] for a in again.json()["alerts"]} == {"updated"}
        assert (await app.client.count_workflows(f"TaskQueue = '{task_queue}'")).count == len(ids)


async def test_sentry_signature_is_required(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    raw, ids = unique_sentry()
    settings = settings_for(valkey_url, task_queue, telegram, sentry_client_secret=CLIENT_SECRET)
    async with running(temporal_client, settings) as app:
        reserialised = json.dumps(json.loads(raw), indent=2).encode()
        for signature in (None, "", "deadbeef", sign(raw, "another-secret"), sign(reserialised),
                          sign(raw) + "00", "sha256=" + sign(raw)):
            headers = sentry_headers(signature=signature)
            response = await app.api.post(SENTRY, content=raw, headers=headers)
            assert_error(response, 401, "Sentry-Hook-Signature")
            assert CLIENT_SECRET not in response.text
        # A shared webhook token does not stand in for the signature.
        response = await app.api.post(SENTRY, content=raw, headers={**sentry_headers(), **bearer()})
        assert response.status_code == 401
        await assert_not_started(app.client, task_queue, ids)
        assert telegram.calls == []

        accepted = await app.api.post(SENTRY, content=raw, headers=sentry_headers(raw))
        assert accepted.status_code == 200, accepted.text
        assert_answers(accepted.json(), ids)
        assert accepted.json()["alerts"][0]["status"] == "started"
        await eventually(lambda: len(telegram.sent) == 1, what="card for the signed delivery")


async def test_sentry_without_a_client_secret_needs_the_webhook_token(temporal_client, valkey_url, redis,
                                                                       task_queue) -> None:
    """The legacy plugin cannot sign: with only AWOOOI_WEBHOOK_TOKEN set, Sentry needs the token."""
    settings = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN)
    async with running(temporal_client, settings, worker=False) as app:
        raw, ids = unique_sentry()
        headers = {"sentry-hook-resource": "event_alert", **JSON}
        assert (await app.api.post(SENTRY, content=raw, headers=headers)).status_code == 401
        await assert_not_started(app.client, task_queue, ids)
        response = await app.api.post(SENTRY, content=raw, headers={**headers, **basic("sentry")})
        assert response.status_code == 200, response.text


async def test_sentry_signature_over_the_raw_fixture_bytes(temporal_client, valkey_url, redis, task_queue) -> None:
    raw = fixture_bytes("sentry_issue_alert_triggered.json")
    settings = settings_for(valkey_url, task_queue, sentry_client_secret=CLIENT_SECRET)
    async with running(temporal_client, settings, worker=False) as app:
        response = await app.api.post(SENTRY, content=raw, headers=sentry_headers(raw))
        assert response.status_code == 200, response.text
        assert_answers(response.json())
        upper = await app.api.post(SENTRY, content=raw, headers=sentry_headers(signature=sign(raw).upper()))
        assert upper.status_code == 200, "hex case does not matter"


async def test_without_configured_credentials_everything_is_accepted(temporal_client, valkey_url, redis,
                                                                      task_queue) -> None:
    settings = settings_for(valkey_url, task_queue)
    async with running(temporal_client, settings, worker=False) as app:
        raw, ids = unique_alertmanager()
        response = await app.api.post(ALERTMANAGER, content=raw, headers={**JSON, **bearer("anything")})
        assert response.status_code == 200, response.text
        sentry_raw, sentry_ids = unique_sentry()
        response = await app.api.post(SENTRY, content=sentry_raw, headers=sentry_headers(signature="whatever"))
        assert response.status_code == 200, response.text
        assert_answers(response.json(), sentry_ids)


# ---------------------------------------------------------------------------------------- malformed


def _bogus_status() -> tuple[bytes, list[str]]:
    raw, ids = unique_alertmanager()
    payload = json.loads(raw)
    payload["alerts"][1]["status"] = "bogus"
    return json.dumps(payload).encode(), ids


def _without_alertname() -> tuple[bytes, list[str]]:
    raw, ids = unique_alertmanager()
    payload = json.loads(raw)
    del payload["alerts"][2]["labels"]["alertname"]
    return json.dumps(payload).encode(), ids[:2]


MALFORMED_GROUPED = [
    pytest.param(lambda: (b"{not json", []), ["JSON"], id="not-json"),
    pytest.param(lambda: (b"", []), ["empty"], id="empty"),
    pytest.param(lambda: (b"   \n", []), ["empty"], id="blank"),
    pytest.param(lambda: (b"[]", []), ["object"], id="array"),
    pytest.param(lambda: (b'[{"alerts": []}]', []), ["object"], id="array-of-object"),
    pytest.param(lambda: (b'"text"', []), ["object"], id="string"),
    pytest.param(lambda: (b'{"alerts": []}', []), ["alerts"], id="no-alerts"),
    pytest.param(lambda: (b'{"alerts": {}}', []), ["alerts"], id="alerts-not-a-list"),
    pytest.param(lambda: (b'{"alerts": [{"status": "bogus", "labels": {"alertname": "A"}}]}', []),
                 ["alerts[0].status", "firing", "resolved"], id="bogus-status"),
    pytest.param(lambda: (b'{"alerts": [{"status": "firing", "labels": {}}]}', []),
                 ["alerts[0]", "alertname"], id="no-alertname"),
    pytest.param(lambda: (b"\xff\xfe{", []), ["JSON"], id="not-utf8"),
    pytest.param(lambda: (b"[" * 100_000 + b"]" * 100_000, []), ["JSON"], id="deeply-nested"),
]


@pytest.mark.parametrize("path", [ALERTMANAGER, SIGNOZ])
@pytest.mark.parametrize(("body", "words"), MALFORMED_GROUPED)
async def test_malformed_alertmanager_and_signoz_bodies_are_422(temporal_client, valkey_url, redis, task_queue,
                                                                path, body, words) -> None:
    raw, ids = body()
    settings = settings_for(valkey_url, task_queue)
    async with running(temporal_client, settings, worker=False) as app:
        response = await app.api.post(path, content=raw, headers=JSON)
        assert_error(response, 422, *words)
        await assert_not_started(app.client, task_queue, ids)


def _far_future_start() -> tuple[bytes, list[str]]:
    raw, ids = unique_alertmanager()
    payload = json.loads(raw)
    payload["alerts"][0]["startsAt"] = 1e30  # epoch seconds far outside what datetime can hold
    return json.dumps(payload).encode(), ids


GROUP_WITH_A_BAD_ALERT = [
    pytest.param(_bogus_status, 1, ["alerts[1].status", "firing", "resolved"], id="bogus-status"),
    pytest.param(_without_alertname, 2, ["alerts[2]", "alertname"], id="no-alertname"),
    pytest.param(_far_future_start, 0, ["alerts[0].startsAt"], id="epoch-out-of-range"),
]


@pytest.mark.parametrize(("body", "bad", "words"), GROUP_WITH_A_BAD_ALERT)
async def test_a_group_with_one_bad_alert_takes_the_good_ones(temporal_client, valkey_url, redis, task_queue,
                                                              body, bad, words) -> None:
    """The bad alert is answered "rejected" naming its field, and still becomes a visible
    "unreadable alert" incident with a raw excerpt; the good ones are started as usual."""
    raw, _ = body()
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        response = await app.api.post(ALERTMANAGER, content=raw, headers=JSON)
        assert response.status_code == 200, response.text
        answers = response.json()["alerts"]
        assert [a["status"] for a in answers] == ["rejected" if i == bad else "started" for i in range(len(answers))]
        rejected = answers[bad]
        assert all(word in rejected["reason"] for word in words), rejected
        assert rejected["incident_id"].startswith("alertmanager-unreadable-")
        history = await app.client.get_workflow_handle(rejected["workflow_id"]).fetch_history()
        signal = next(e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes"))
        payload = signal.workflow_execution_signaled_event_attributes.input.payloads[0].data.decode()
        assert "unreadable alert" in payload and "raw_excerpt" in payload and words[0] in payload
        again = await app.api.post(ALERTMANAGER, content=raw, headers=JSON)  # the sender's retry
        assert again.json()["alerts"][bad]["workflow_id"] == rejected["workflow_id"]


def _sentry_without_title() -> tuple[bytes, list[str]]:
    payload = unique_sentry_payload()
    ids = [workflow_id(p.alert) for p in parse_sentry(payload, resource="event_alert").alerts]
    del payload["data"]["event"]["title"]
    return json.dumps(payload).encode(), ids


def _sentry_without_issue() -> tuple[bytes, list[str]]:
    payload = unique_sentry_payload()
    ids = [workflow_id(p.alert) for p in parse_sentry(payload, resource="event_alert").alerts]
    del payload["data"]["event"]["issue_id"]
    del payload["data"]["event"]["issue_url"]
    return json.dumps(payload).encode(), ids


MALFORMED_SENTRY = [
    pytest.param(lambda: (b"{not json", []), ["JSON"], "event_alert", id="not-json"),
    pytest.param(lambda: (b"", []), ["empty"], "event_alert", id="empty"),
    pytest.param(lambda: (b"[]", []), ["object"], "event_alert", id="array"),
    pytest.param(_sentry_without_title, ["data.event.title"], "event_alert", id="no-title"),
    pytest.param(_sentry_without_issue, ["issue_id"], "event_alert", id="no-issue"),
    pytest.param(lambda: (b'{"action": "triggered", "data": {}}', []), ["resource"], "", id="unknown-resource"),
]


@pytest.mark.parametrize(("body", "words", "resource"), MALFORMED_SENTRY)
async def test_malformed_sentry_bodies_are_422(temporal_client, valkey_url, redis, task_queue,
                                               body, words, resource) -> None:
    raw, ids = body()
    settings = settings_for(valkey_url, task_queue, sentry_client_secret=CLIENT_SECRET)
    async with running(temporal_client, settings, worker=False) as app:
        headers = sentry_headers(raw, resource=resource)
        if not resource:
            del headers["sentry-hook-resource"]
        response = await app.api.post(SENTRY, content=raw, headers=headers)
        assert_error(response, 422, *words)
        await assert_not_started(app.client, task_queue, ids)


async def test_a_malformed_body_is_401_before_422_when_unauthenticated(temporal_client, valkey_url, redis,
                                                                       task_queue) -> None:
    """Without credentials the API says nothing about the body: the sender learns only 'unauthorized'."""
    settings = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN, sentry_client_secret=CLIENT_SECRET)
    async with running(temporal_client, settings, worker=False) as app:
        assert (await app.api.post(ALERTMANAGER, content=b"{not json", headers=JSON)).status_code == 401
        assert (await app.api.post(SENTRY, content=b"{not json", headers=sentry_headers())).status_code == 401
        await assert_not_started(app.client, task_queue)


# ------------------------------------------------------------------------------------------ ignored


async def test_sentry_non_alert_resources_are_ignored(temporal_client, valkey_url, redis, task_queue,
                                                      telegram) -> None:
    installation = json.dumps({
        "action": "created",
        "installation": {"uuid": str(uuid.uuid4())},
        "data": {"installation": {"uuid": str(uuid.uuid4()), "app": {"slug": "awoooi"}, "status": "installed"}},
        "actor": {"type": "user", "id": 1, "name": "admin"},
    }).encode()
    deliveries = [
        (fixture_bytes("sentry_comment_created.json"), "comment"),
        (installation, "installation"),
        (fixture_bytes("sentry_issue_assigned_zulip_fixture.json"), "issue"),
    ]
    settings = settings_for(valkey_url, task_queue, telegram, sentry_client_secret=CLIENT_SECRET)
    async with running(temporal_client, settings) as app:
        for raw, resource in deliveries:
            response = await app.api.post(SENTRY, content=raw, headers=sentry_headers(raw, resource=resource))
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status"] == "ignored", body
            assert isinstance(body["reason"], str) and body["reason"]
            assert body["alerts"] == []
        await assert_not_started(app.client, task_queue)
        assert telegram.calls == []


# --------------------------------------------------------------------------------- Temporal is down


async def test_temporal_unreachable_spools_within_a_second(valkey_url, redis, task_queue) -> None:
    """Temporal down: every delivery is taken into the Valkey spool and answered 200 "spooled"
    within a second (Sentry gives up after 1 s), instead of a 503 the sender may never retry."""
    async with api_without_temporal(valkey_url, task_queue) as app:
        deliveries = [
            (ALERTMANAGER, unique_alertmanager()[0], JSON),
            (SIGNOZ, unique_signoz()[0], JSON),
            (SENTRY, unique_sentry()[0], sentry_headers()),
            (ALERTMANAGER, unique_alertmanager("alertmanager_v4_resolved_single.json")[0], JSON),
        ]
        taken = 0
        for path, raw, headers in deliveries:
            started = time.monotonic()
            response = await app.api.post(path, content=raw, headers=headers)
            elapsed = time.monotonic() - started
            assert response.status_code == 200, response.text
            assert elapsed < 1.0, f"{path} took {elapsed:.2f}s to answer"
            alerts = response.json()["alerts"]
            assert alerts and all(a["status"] == "spooled" for a in alerts), alerts
            taken += len(alerts)
        assert await redis.xlen("awoooi:spool") == taken
        health = (await app.api.get(HEALTH)).json()
        assert health["spool"]["depth"] == taken and health["spool"]["oldest_age_seconds"] >= 0
        # Input that can never succeed is still 4xx, so the sender does not retry it forever.
        assert (await app.api.post(ALERTMANAGER, content=b"{", headers=JSON)).status_code == 422


async def test_temporal_and_valkey_down_is_503_fast(task_queue) -> None:
    """Nowhere durable to put it: 503 at once, so the sender retries."""
    dead_valkey = f"redis://127.0.0.1:{free_port()}/0"
    async with api_without_temporal(dead_valkey, task_queue) as app:
        for path, raw, headers in [(ALERTMANAGER, unique_alertmanager()[0], JSON),
                                   (SENTRY, unique_sentry()[0], sentry_headers())]:
            started = time.monotonic()
            response = await app.api.post(path, content=raw, headers=headers)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert elapsed < 3, f"{path} took {elapsed:.1f}s to answer 503"
            body = response.json()
            assert body["status"] in ("unavailable", "error")
            assert all(a.get("status") not in ANSWER_STATUSES for a in body.get("alerts", []))
        metrics = (await app.api.get("/metrics")).text
        assert 'awoooi_webhook_requests_total{code="503",source="alertmanager"} 1.0' in metrics
        assert 'code="200"' not in metrics


# ------------------------------------------------------------------------------------------- health


async def test_health_ok_on_real_servers(temporal_client, valkey_url, redis, task_queue) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue)) as app:
        async def healthy() -> bool:
            return (await app.api.get(HEALTH)).status_code == 200
        await eventually(healthy, what="the worker's first poll")
        body = (await app.api.get(HEALTH)).json()
        assert body["temporal"] == "ok" and body["valkey"] == "ok" and body["worker"] == "ok"
        assert body["down"] == []


async def test_health_503_when_no_worker_polls_the_task_queue(temporal_client, valkey_url, redis,
                                                              task_queue) -> None:
    """Issue 7: an API whose queue nobody works must not say ok while alerts pile up."""
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        response = await app.api.get(HEALTH)
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["down"] == ["worker"]
        assert task_queue in body["worker"]
        # Ready all the same: alerts taken now wait in Temporal for a worker.
        ready = await app.api.get("/api/v1/ready")
        assert ready.status_code == 200 and ready.json()["down"] == []


async def test_health_503_when_valkey_is_down(temporal_client, task_queue) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with running(temporal_client, settings_for(dead, task_queue), worker=False) as app:
        started = time.monotonic()
        response = await app.api.get(HEALTH)
        assert time.monotonic() - started < 15
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["down"] == ["valkey", "worker"]
        assert body["temporal"] == "ok"
        assert body["valkey"] != "ok" and "valkey" in response.text


async def test_health_503_when_temporal_is_down(valkey_url, redis, task_queue) -> None:
    async with api_without_temporal(valkey_url, task_queue) as app:
        started = time.monotonic()
        response = await app.api.get(HEALTH)
        assert time.monotonic() - started < 15
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["down"] == ["temporal", "worker"]
        assert body["valkey"] == "ok"
        assert body["temporal"] != "ok"


# ----------------------------------------------------------------------------------- telegram status


async def test_telegram_status_connected(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue, telegram), worker=False) as app:
        response = await app.api.get(TELEGRAM_STATUS)
        assert response.status_code == 200
        body = response.json()
        assert body["connected"] is True
        assert body["bot"] == "awoooi_test_bot"
        assert telegram.token not in response.text


async def test_telegram_status_without_token(temporal_client, valkey_url, redis, task_queue) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        body = (await app.api.get(TELEGRAM_STATUS)).json()
        assert body["connected"] is False
        assert body["bot"] is None
        assert "AWOOOI_TELEGRAM_BOT_TOKEN" in body["reason"]


async def test_telegram_status_with_a_rejected_token(temporal_client, valkey_url, redis, task_queue,
                                                     telegram) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, telegram_bot_token="999:revoked-token-value")
    async with running(temporal_client, settings, worker=False) as app:
        response = await app.api.get(TELEGRAM_STATUS)
        assert response.status_code == 200
        body = response.json()
        assert body["connected"] is False
        assert "401" in body["reason"]
        assert "revoked-token-value" not in response.text


# ------------------------------------------------------------------------------------------ metrics


async def test_metrics_after_a_delivery(temporal_client, valkey_url, redis, task_queue) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        raw, ids = unique_alertmanager()
        assert (await app.api.post(ALERTMANAGER, content=raw, headers=JSON)).status_code == 200
        assert (await app.api.post(ALERTMANAGER, content=b"[]", headers=JSON)).status_code == 422
        response = await app.api.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert "# TYPE awoooi_webhook_requests_total counter" in text
        assert 'awoooi_webhook_requests_total{code="200",source="alertmanager"} 1.0' in text
        assert 'awoooi_webhook_requests_total{code="422",source="alertmanager"} 1.0' in text
        assert "# TYPE awoooi_alerts_total counter" in text
        assert f'awoooi_alerts_total{{result="started",source="alertmanager",status="firing"}} {len(ids)}.0' in text


# ------------------------------------------------------------------------------------ answer shape


async def test_answer_shape(temporal_client, valkey_url, redis, task_queue) -> None:
    raw, ids = unique_alertmanager()
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as app:
        first = (await app.api.post(ALERTMANAGER, content=raw, headers=JSON)).json()
        assert first["status"] == "accepted"
        assert_answers(first, ids)
        parsed = parse_alertmanager(json.loads(raw)).alerts
        for answer, p in zip(first["alerts"], parsed, strict=True):
            assert answer["status"] == "started"
            assert answer["incident_id"] == incident_id(p.alert)
            assert answer["anomaly_key"] == anomaly_key(p.alert)
            assert answer["fingerprint"] == p.alert.fingerprint
            assert answer["alert_status"] == "firing"
        second = (await app.api.post(ALERTMANAGER, content=raw, headers=JSON)).json()
        assert_answers(second, ids)
        assert [a["status"] for a in second["alerts"]] == ["updated"] * len(ids)

        sentry_raw, sentry_ids = unique_sentry()
        headers = sentry_headers(request_id="req-shape")
        sentry_first = (await app.api.post(SENTRY, content=sentry_raw, headers=headers)).json()
        assert_answers(sentry_first, sentry_ids)
        # The delivery ledger answers a later retry of the same Sentry event as a duplicate.
        delivery = parse_sentry(json.loads(sentry_raw), resource="event_alert", request_id="req-shape").alerts[0]
        await app.api.post(SENTRY, content=sentry_raw, headers=headers)
        await redis.set(f"awoooi:ledger:delivery:{delivery.delivery_key}", "1")
        retry = (await app.api.post(SENTRY, content=sentry_raw, headers=headers)).json()
        assert_answers(retry, sentry_ids)
        assert retry["alerts"][0]["status"] == "duplicate"


# ------------------------------------------------------------------------------------------ secrets


async def test_secrets_never_reach_logs_or_responses(temporal_client, valkey_url, redis, task_queue, telegram,
                                                     sentry, caplog, capsys) -> None:
    telegram.fail_next("sendMessage", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    settings = settings_for(valkey_url, task_queue, telegram, sentry, webhook_token=WEBHOOK_TOKEN,
                            sentry_client_secret=CLIENT_SECRET)
    secrets = [telegram.token, sentry.token, WEBHOOK_TOKEN, CLIENT_SECRET]
    bodies: list[str] = []
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        async with running(temporal_client, settings) as app:
            raw, ids = unique_alertmanager()
            sentry_raw, sentry_ids = unique_sentry()
            responses = [
                await app.api.post(ALERTMANAGER, content=raw, headers={**JSON, **bearer()}),
                await app.api.post(ALERTMANAGER, content=raw, headers={**JSON, **bearer("wrong")}),
                await app.api.post(SIGNOZ, content=b"{oops", headers={**JSON, **bearer()}),
                await app.api.post(SENTRY, content=sentry_raw, headers=sentry_headers(sentry_raw)),
                await app.api.post(SENTRY, content=sentry_raw, headers=sentry_headers(signature="00")),
            ]
            assert [r.status_code for r in responses] == [200, 401, 422, 200, 401]
            expected_cards = len(ids) + len(sentry_ids)
            send_calls = lambda: [c for c in telegram.calls if c[0] == "sendMessage"]  # noqa: E731
            await eventually(lambda: len(send_calls()) >= expected_cards, what="every card attempted")
            await eventually(lambda: len(telegram.sent) >= expected_cards - 1, what="the other cards sent")
            await eventually(lambda: sum(len(c) for c in sentry.comments.values()) == 1, what="sentry comment")
            # The rejected card's failure is logged (positive control: the capture sees the failure path).
            await eventually(lambda: any("401" in _record_text(r) for r in caplog.records)
                             or any("401" in repr(e) for e in events), what="the telegram failure logged")
            for path in (HEALTH, TELEGRAM_STATUS, "/metrics", "/api/openapi.json"):
                responses.append(await app.api.get(path))
            bodies = [r.text + repr(dict(r.headers)) for r in responses]
    captured = capsys.readouterr()
    texts = {
        "log records": "\n".join(_record_text(r) for r in caplog.records),
        "structlog events": "\n".join(repr(e) for e in events),
        "stdout/stderr": captured.out + captured.err,
        "responses": "\n".join(bodies),
    }
    assert caplog.records or events, "nothing was captured; the check would be vacuous"
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:4]}...) leaked into {where}"


def _record_text(record: logging.LogRecord) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return formatter.format(record) + repr(record.__dict__)
