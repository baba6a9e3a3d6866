"""The Alertmanager-compatible silences API on the real Valkey (and the session's Temporal dev
server, which these routes never need): auth like the approve endpoint, Alertmanager's shapes, update
rules and error bodies, DELETE expiring without removing, and bad input answered 4xx with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from redis.asyncio import Redis
from temporalio.client import Client

from activities.valkey.silences import RedisSilenceStore
from core.silences import Silence
from tests.harness import Running, running, settings_for

API_TOKEN = "api-tok-6f1d2c9e8b-silences"
AUTH = {"authorization": f"Bearer {API_TOKEN}"}
SILENCES = "/api/v2/silences"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
            "startsAt": iso(now), "endsAt": iso(now + timedelta(hours=1)), "createdBy": "alice",
            "comment": "disk swap tonight"} | overrides


@pytest.fixture
async def api(temporal_client: Client, valkey_url: str, redis: Redis, task_queue: str) -> AsyncIterator[Running]:
    async with running(temporal_client, settings_for(valkey_url, task_queue, api_token=API_TOKEN),
                       worker=False) as r:
        yield r


async def test_the_token_is_required_like_the_approve_endpoint(temporal_client: Client, valkey_url: str,
                                                                redis: Redis, task_queue: str) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue), worker=False) as closed:
        answer = await closed.api.get(SILENCES, headers=AUTH)
        assert answer.status_code == 403 and "AWOOOI_API_TOKEN" in answer.json()
    async with running(temporal_client, settings_for(valkey_url, task_queue, api_token=API_TOKEN),
                       worker=False) as r:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {API_TOKEN}"}):
            with structlog.testing.capture_logs() as logs:
                answer = await r.api.post(SILENCES, json=body(), headers=headers)
            assert answer.status_code == 401 and answer.json() == "missing or invalid API token"
            assert API_TOKEN not in answer.text and API_TOKEN not in repr(logs)
        assert await RedisSilenceStore(redis).all() == []
        assert (await r.api.get(SILENCES, headers=AUTH)).json() == []


async def test_add_get_update_expire_in_alertmanagers_shapes(api: Running, redis: Redis) -> None:
    created = await api.api.post(SILENCES, json=body(), headers=AUTH)
    assert created.status_code == 200, created.text
    sid = created.json()["silenceID"]
    one = (await api.api.get(f"/api/v2/silence/{sid}", headers=AUTH)).json()
    assert one["status"] == {"state": "active"} and one["createdBy"] == "alice"
    assert one["matchers"] == [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}]
    assert one["endsAt"].endswith("Z") and set(one) == {"id", "status", "updatedAt", "matchers", "startsAt",
                                                        "endsAt", "createdBy", "comment"}

    # Same matchers and start, a later end: updated in place, the same id answered.
    longer = one | {"endsAt": iso(datetime.now(UTC) + timedelta(hours=4)), "comment": "longer"}
    again = await api.api.post(SILENCES, json=longer, headers=AUTH)
    assert again.json() == {"silenceID": sid}
    assert (await api.api.get(f"/api/v2/silence/{sid}", headers=AUTH)).json()["comment"] == "longer"

    # Other matchers under the same id: a new silence replaces it, the old one is expired, not removed.
    other = longer | {"matchers": [{"name": "alertname", "value": "DiskFull2", "isRegex": False, "isEqual": True}]}
    replaced = (await api.api.post(SILENCES, json=other, headers=AUTH)).json()["silenceID"]
    assert replaced != sid
    states = {s["id"]: s["status"]["state"] for s in (await api.api.get(SILENCES, headers=AUTH)).json()}
    assert states == {sid: "expired", replaced: "active"}

    # DELETE expires (endsAt = now); twice is once; unknown ids are 404.
    assert (await api.api.delete(f"/api/v2/silence/{replaced}", headers=AUTH)).status_code == 200
    assert (await api.api.delete(f"/api/v2/silence/{replaced}", headers=AUTH)).status_code == 200
    gone = (await api.api.get(f"/api/v2/silence/{replaced}", headers=AUTH)).json()
    assert gone["status"]["state"] == "expired"
    assert (await api.api.delete("/api/v2/silence/nope", headers=AUTH)).status_code == 404
    assert (await api.api.get("/api/v2/silence/nope", headers=AUTH)).json() == "silence not found"
    assert (await api.api.post(SILENCES, json=body(id="nope"), headers=AUTH)).status_code == 404
    assert len(await RedisSilenceStore(redis).all()) == 2


async def test_filter_as_amtool_sends_it(api: Running) -> None:
    for name in ("DiskFull", "HighCPU"):
        matchers = [{"name": "alertname", "value": name, "isRegex": False, "isEqual": True},
                    {"name": "env", "value": "prod|staging", "isRegex": True, "isEqual": True}]
        assert (await api.api.post(SILENCES, json=body(matchers=matchers), headers=AUTH)).status_code == 200
    hits = (await api.api.get(SILENCES, params={"filter": 'alertname="HighCPU"'}, headers=AUTH)).json()
    assert [m["value"] for s in hits for m in s["matchers"] if m["name"] == "alertname"] == ["HighCPU"]
    both = await api.api.get(SILENCES, params=[("filter", 'alertname=~"Disk.*|High.*"'), ("filter", "team=")],
                             headers=AUTH)
    assert len(both.json()) == 2
    bad = await api.api.get(SILENCES, params={"filter": "alertname"}, headers=AUTH)
    assert bad.status_code == 400 and "bad matcher format" in bad.json()


@pytest.mark.parametrize(("change", "message"), [
    ({"matchers": []}, "at least one matcher required"),
    ({"matchers": [{"name": "a", "value": ".*", "isRegex": True, "isEqual": True}]},
     "must not match the empty string"),
    ({"matchers": [{"name": "a", "value": "(", "isRegex": True, "isEqual": True}]}, "invalid regular expression"),
    ({"matchers": [{"name": "1a", "value": "x", "isRegex": False}]}, "invalid label name"),
    ({"endsAt": "2020-01-01T00:00:00Z"}, "start time must be before end time"),
    ({"startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-01-02T00:00:00Z"}, "end time can't be in the past"),
    ({"startsAt": "yesterday"}, "invalid silence: startsAt"),
    ({"comment": ""}, "comment is required"),
    ({"createdBy": "   "}, "createdBy is required"),
])
async def test_bad_input_is_400_and_writes_nothing(api: Running, redis: Redis, change: dict[str, Any],
                                                   message: str) -> None:
    answer = await api.api.post(SILENCES, json=body(**change), headers=AUTH)
    assert answer.status_code == 400 and message in answer.json(), answer.text
    assert await RedisSilenceStore(redis).all() == []


async def test_malformed_bodies_are_400(api: Running, redis: Redis) -> None:
    missing = {k: v for k, v in body().items() if k != "comment"}
    answer = await api.api.post(SILENCES, json=missing, headers=AUTH)
    assert answer.status_code == 400 and answer.json() == "comment in body is required"
    for raw in (b"", b"{", b"[]", b'"x"'):
        answer = await api.api.post(SILENCES, content=raw, headers=AUTH | {"content-type": "application/json"})
        assert answer.status_code == 400, raw
    assert await RedisSilenceStore(redis).all() == []


async def test_expiring_tells_the_workflows_it_silenced(api: Running, redis: Redis) -> None:
    told: list[tuple[Silence, list[str]]] = []

    async def changed(silence: Silence, workflow_ids: list[str]) -> None:
        told.append((silence, workflow_ids))

    deps = api.api._transport.app.state.deps  # type: ignore[attr-defined]
    deps.silence_changed = changed
    sid = (await api.api.post(SILENCES, json=body(), headers=AUTH)).json()["silenceID"]
    store = RedisSilenceStore(redis)
    await store.watch([sid], "alertmanager-wf-9", datetime.now(UTC) + timedelta(hours=1))
    assert (await api.api.delete(f"/api/v2/silence/{sid}", headers=AUTH)).status_code == 200
    assert [(s.id, ids) for s, ids in told] == [(sid, ["alertmanager-wf-9"])]
    assert told[0][0].ends_at <= datetime.now(UTC)
