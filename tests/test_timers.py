"""Timer paths on the time-skipping test server: an incident nobody resolves expires."""

from __future__ import annotations



from tests.conftest import fixture_bytes
from tests.harness import eventually, running, settings_for


async def test_unresolved_incident_expires_after_idle_timeout(skipping_env, valkey_url, redis, task_queue,
                                                              telegram) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, incident_idle_timeout_seconds=6 * 3600)
    async with running(skipping_env.client, settings) as app:
        body = (await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))).json()
        handle = skipping_env.client.get_workflow_handle(body["alerts"][0]["workflow_id"])
        await eventually(lambda: len(telegram.sent) == 1, what="card")
        await skipping_env.sleep(6 * 3600 + 60)  # skip over the six idle hours
        await eventually(lambda: telegram.edits, what="card edited to expired")
        outcome = await handle.result()
        assert outcome["status"] == "expired"
        assert len(telegram.sent) == 1
        assert "⌛" in telegram.messages[1][-1]


async def test_flap_within_grace_reopens_the_same_card(skipping_env, valkey_url, redis, task_queue,
                                                       telegram) -> None:
    import json

    settings = settings_for(valkey_url, task_queue, telegram, resolve_grace_seconds=300)
    firing = fixture_bytes("signoz_alert.json")
    resolved = json.loads(firing)
    resolved["alerts"][0] |= {"status": "resolved", "endsAt": "2022-04-25T10:05:00Z"}
    async with running(skipping_env.client, settings) as app:
        body = (await app.api.post("/api/v1/webhooks/signoz", content=firing)).json()
        handle = skipping_env.client.get_workflow_handle(body["alerts"][0]["workflow_id"])
        await eventually(lambda: len(telegram.sent) == 1, what="card")
        await app.api.post("/api/v1/webhooks/signoz", content=json.dumps(resolved).encode())
        await eventually(lambda: len(telegram.edits) == 1, what="resolved edit")
        # A late re-send of the resolved firing re-opens nothing; a new firing (new startsAt) does.
        late = (await app.api.post("/api/v1/webhooks/signoz", content=firing)).json()
        assert late["alerts"][0]["status"] == "updated"
        flapped = json.loads(firing)
        flapped["alerts"][0]["startsAt"] = "2022-04-25T10:06:00Z"
        again = (await app.api.post("/api/v1/webhooks/signoz", content=json.dumps(flapped).encode())).json()
        assert again["alerts"][0]["status"] == "updated"
        await eventually(lambda: len(telegram.edits) == 2, what="re-opened edit")
        assert len(telegram.sent) == 1, "a flap edits the same card"
        await handle.terminate("done")
