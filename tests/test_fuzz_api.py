"""Property-based fuzzing of every endpoint with valid credentials: never a 5xx, every 4xx names its field.

Over the ASGI app of :func:`tests.harness.running` with the real Temporal dev server and Valkey,
but no worker, so nothing runs: an alert that is taken is only started (the autouse fixture
terminates it after the test). Bodies are the real fixtures in tests/fixtures/ with a few values
replaced, or generated JSON, with the values the adversarial run of issue 11 found: ``http://[``,
a start at 9999-12-31T23:59:59-14:00, ``1e999``, a 5,000-digit integer, ``NaN``, a lone surrogate,
long non-ASCII names, deep nesting. Cases per endpoint are in ``CASES`` (10,000 in all).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import fixture_bytes
from tests.harness import Running, running, settings_for

WEBHOOK_TOKEN = "fuzz-webhook-token-0a1b"
API_TOKEN = "fuzz-api-token-2c3d"
CLIENT_SECRET = "fuzz-sentry-secret-4e5f"
TELEGRAM_SECRET = "fuzz-telegram-secret-6a7b"
APPROVER_ID = 996202131

CASES = {"alertmanager": 2000, "signoz": 1500, "sentry": 2500, "telegram": 1000, "decide": 1500,
         "learning": 1000, "health": 500}
# HTTP status -> count, and per-alert answer ("started", "rejected"...) -> count, per endpoint.
RESULTS: dict[str, Counter[int | str]] = {name: Counter() for name in CASES}

# Words at least one of which every 4xx detail must contain: the field or part that was wrong.
FIELD_WORDS = ("body", "alerts", "labels", "status", "startsAt", "endsAt", "annotations", "data", "JSON",
               "object", "id", "title", "update_id", "callback_query", "incident_id", "timestamp", "datetime",
               "firstSeen", "date_started", "date_closed", "name", "resource", "AWOOOI_MAX_BODY_BYTES",
               "incident", "anomaly", "approve", "decide", "decision", "closed")

SPECIAL: dict[str, bytes] = {
    '"@@HUGEINT@@"': b"9" * 5000,
    '"@@INF@@"': b"1e999",
    '"@@NAN@@"': b"NaN",
    '"@@SURROGATE@@"': b'"lone \\ud800 surrogate"',
    '"@@DEEP@@"': b"[" * 70 + b"]" * 70,
}
ODD_STRINGS = ["http://[", "http://[::1", "https://h:99999/x", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
               "2026-06-01T10:00:00.123456789Z", "磁碟空間不足" * 400, "x" * 3000, "😀" * 600, "", " ", "firing",
               "resolved", "triggered", "created", "critical", "\x00\x01", "<b>&amp;</b>"]

atoms = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30, max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(ODD_STRINGS), st.sampled_from([k.strip('"') for k in SPECIAL]),
)
values = st.recursive(atoms, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                         max_size=4), max_leaves=12)


def encode(body: Any, ascii_only: bool) -> bytes:
    text = json.dumps(body, ensure_ascii=ascii_only)
    raw = text.encode("utf-8")
    for token, replacement in SPECIAL.items():
        raw = raw.replace(token.encode(), replacement)
    return raw


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document a value can be replaced."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(data: st.DataObject, doc: Any) -> Any:
    """The fixture with 0-4 values replaced by odd ones, or deleted."""
    for _ in range(data.draw(st.integers(0, 4))):
        place = data.draw(st.sampled_from(paths(doc)))
        if not place:
            doc = data.draw(values)
            continue
        parent = doc
        for step in place[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()) and data.draw(st.booleans()):
            del parent[place[-1]]
        else:
            parent[place[-1]] = data.draw(values)
    return doc


def fixture(name: str) -> Any:
    doc = json.loads(fixture_bytes(name))
    tag = uuid.uuid4().hex[:10]  # fresh fingerprints: the test's alerts meet no other test's workflows
    for alert in doc.get("alerts", []) if isinstance(doc, dict) else []:
        alert["fingerprint"] = f"fuzz-{tag}-{alert.get('fingerprint', '')}"
    return doc


def body_from(data: st.DataObject, fixtures: list[str]) -> bytes:
    if data.draw(st.integers(0, 9)) == 0:
        doc = data.draw(values)
    else:
        doc = mutate(data, fixture(data.draw(st.sampled_from(fixtures))))
    return encode(doc, data.draw(st.booleans()))


def check(name: str, response: Any) -> None:
    RESULTS[name][response.status_code] += 1
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.is_redirect:
        return  # "/api/v1/learning/summary//" (an encoded "/" as the key): the router's slash redirect
    answer = response.json()
    if response.status_code in (404, 405) and answer == {"detail": response.reason_phrase}:
        return  # a path that matches no route (an encoded "/" in an id): the framework's own answer
    if 400 <= response.status_code < 500:
        detail = answer.get("detail", "")
        assert isinstance(detail, str) and any(word in detail for word in FIELD_WORDS), answer
    for alert in answer.get("alerts", []) if isinstance(answer, dict) else []:
        RESULTS[name][alert["status"]] += 1  # type: ignore[index]
        if alert["status"] == "rejected":
            assert alert["reason"].startswith(("alerts[", "labels", "status", "startsAt", "endsAt", "annotations",
                                               "alert ")), alert


FUZZ = settings(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture
async def app(temporal_client, valkey_url, task_queue) -> AsyncIterator[Running]:
    settings_ = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN, api_token=API_TOKEN,
                             sentry_client_secret=CLIENT_SECRET, telegram_webhook_secret=TELEGRAM_SECRET,
                             telegram_approver_ids=[APPROVER_ID])
    async with running(temporal_client, settings_, worker=False) as running_app:
        yield running_app


WEBHOOK = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
API = {"authorization": f"Bearer {API_TOKEN}", "content-type": "application/json"}


@settings(FUZZ, max_examples=CASES["alertmanager"])
@given(data=st.data())
async def test_fuzz_alertmanager(app: Running, data: st.DataObject) -> None:
    raw = body_from(data, ["alertmanager_v4_firing_grouped.json", "alertmanager_v4_resolved_single.json",
                           "alertmanager_v4_resolved_with_notification_reason.json",
                           "alertmanager_v4_firing_grouped_zulip_fixture.json"])
    check("alertmanager", await app.api.post("/api/v1/webhooks/alertmanager", content=raw, headers=WEBHOOK))


@settings(FUZZ, max_examples=CASES["signoz"])
@given(data=st.data(), path=st.sampled_from(["/api/v1/webhooks/signoz", "/api/v1/webhooks/signoz/alert"]))
async def test_fuzz_signoz(app: Running, data: st.DataObject, path: str) -> None:
    raw = body_from(data, ["signoz_alert.json", "alertmanager_v4_resolved_single.json"])
    check("signoz", await app.api.post(path, content=raw, headers=WEBHOOK))


SENTRY_FIXTURES = {
    "sentry_issue_alert_triggered.json": "event_alert", "sentry_error_created.json": "error",
    "sentry_issue_created.json": "issue", "sentry_issue_resolved_zulip_fixture.json": "issue",
    "sentry_metric_alert_resolved.json": "metric_alert", "sentry_comment_created.json": "comment",
    "sentry_legacy_webhooks_plugin.json": "", "sentry_issue_assigned_zulip_fixture.json": "issue",
}


@settings(FUZZ, max_examples=CASES["sentry"])
@given(data=st.data(), path=st.sampled_from(["/api/v1/webhooks/sentry", "/api/v1/webhooks/sentry/error"]))
async def test_fuzz_sentry(app: Running, data: st.DataObject, path: str) -> None:
    name = data.draw(st.sampled_from(sorted(SENTRY_FIXTURES)))
    raw = body_from(data, [name])
    resource = data.draw(st.sampled_from([SENTRY_FIXTURES[name]] * 3 + ["installation", "bogus", "legacy"]))
    headers = {"content-type": "application/json", "sentry-hook-resource": resource,
               "sentry-hook-signature": hmac.new(CLIENT_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
               "request-id": data.draw(st.sampled_from([str(uuid.uuid4()), "", "x" * 300]))}
    check("sentry", await app.api.post(path, content=raw, headers=headers))


@settings(FUZZ, max_examples=CASES["telegram"])
@given(data=st.data())
async def test_fuzz_telegram(app: Running, data: st.DataObject) -> None:
    doc = fixture("telegram_callback_query_update.json")
    doc["update_id"] = data.draw(st.integers(0, 2**62))  # a fresh update each time, so it is not a duplicate
    doc["callback_query"]["data"] = data.draw(st.sampled_from(["awoooi:a:nope", "awoooi:r:", "x"]) | st.text())
    raw = encode(mutate(data, doc), data.draw(st.booleans()))
    headers = {"x-telegram-bot-api-secret-token": TELEGRAM_SECRET, "content-type": "application/json"}
    check("telegram", await app.api.post("/api/v1/webhooks/telegram", content=raw, headers=headers))


@settings(FUZZ, max_examples=CASES["decide"])
@given(verb=st.sampled_from(["approve", "reject"]),
       incident=st.from_regex(r"[A-Za-z0-9._-]{1,60}", fullmatch=True) | st.text(min_size=1, max_size=300),
       body=st.one_of(values, st.fixed_dictionaries({}, optional={"by": values, "note": values})),
       ascii_only=st.booleans())
async def test_fuzz_approve_and_reject(app: Running, verb: str, incident: str, body: Any, ascii_only: bool) -> None:
    # "fuzz-" keeps the id off every real workflow: without a worker, an update to one would wait.
    path = f"/api/v1/incidents/fuzz-{quote(incident, safe='')}/{verb}"
    check("decide", await app.api.post(path, content=encode(body, ascii_only), headers=API))


@settings(FUZZ, max_examples=CASES["learning"])
@given(kind=st.sampled_from(["summary", "recommendation", "playbooks"]), key=st.text(min_size=1, max_size=300))
async def test_fuzz_learning(app: Running, kind: str, key: str) -> None:
    path = "/api/v1/playbooks" if kind == "playbooks" else f"/api/v1/learning/{kind}/{quote(key, safe='')}"
    check("learning", await app.api.get(path, headers=API))


@settings(FUZZ, max_examples=CASES["health"])
@given(query=st.text(max_size=50), request_id=st.text(max_size=200).filter(lambda t: t.isascii() and t.isprintable()))
async def test_fuzz_health(app: Running, query: str, request_id: str) -> None:
    response = await app.api.get(f"/api/v1/health?{quote(query)}", headers={"x-request-id": request_id})
    if response.status_code == 503:
        # This app runs no worker, and health says exactly that: the one 503 that is an answer, not a fault.
        assert response.json()["down"] == ["worker"], response.text
        RESULTS["health"]["503 (no worker, by design)"] += 1
        return
    check("health", response)
    assert response.headers["x-request-id"]


def test_fuzz_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the answers per endpoint (the figures for RELIABILITY.md); runs after the fuzz tests."""
    with capsys.disabled():
        total = sum(n for c in RESULTS.values() for code, n in c.items() if isinstance(code, int))
        print(f"\nfuzz: {total} cases", {name: dict(c) for name, c in RESULTS.items()})
    assert all(code < 500 for c in RESULTS.values() for code in c if isinstance(code, int))
