"""Telegram, Sentry and the LLM misbehaving in bursts, on the real dev server and the real worker.

Every card is eventually delivered or its failure surfaced in the workflow's state, and no
workflow is stuck: 429s wait exactly ``retry_after``, 5xx and timeouts are retried, 401 is given
up at once, a hanging LLM falls back to the rules. A timed-out send that did reach Telegram is
the one way to get a second card; it must then carry the "may repeat" line (docs/adr/0011).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from activities.words import LABELS
from tests.alert_flow import ALERTMANAGER, alertmanager_body, cards_per_title, titles
from tests.harness import eventually, running, settings_for
from tests.test_api import unique_sentry_payload

JSON = {"content-type": "application/json"}
MAY_REPEAT = LABELS["en"]["may_repeat"]
RATE_LIMITED = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1}}
BAD_GATEWAY = {"ok": False, "error_code": 502, "description": "Bad Gateway"}


async def _state(client: Client, workflow_id: str) -> dict[str, Any] | None:
    state = await client.get_workflow_handle(workflow_id).query("state")
    return state if state is None or isinstance(state, dict) else state.model_dump()


async def _post(app, path: str, body: bytes, headers: dict[str, str] | None = None) -> list[str]:  # noqa: ANN001
    answer = await app.api.post(path, content=body, headers={**JSON, **(headers or {})})
    assert answer.status_code == 200, answer.text
    return [a["workflow_id"] for a in answer.json()["alerts"]]


async def _all_running_with(client: Client, workflow_ids: list[str], key: str) -> bool:
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return False
        state = await _state(client, workflow_id)
        if state is None or state.get(key) is None:
            return False
    return True


async def test_telegram_429_5xx_and_timeouts_in_bursts(temporal_client, valkey_url, redis, task_queue,
                                                       telegram) -> None:
    settings = settings_for(valkey_url, task_queue, telegram)
    expected = titles(uuid.uuid4().hex[:6], 10)
    telegram.fail_next("sendMessage", 429, RATE_LIMITED, times=4)
    telegram.fail_next("sendMessage", 502, BAD_GATEWAY, times=4)
    # Then two sends that reach Telegram but whose answer comes after the client's 5 s timeout.
    telegram.stall_next("sendMessage", 6.0, times=2)
    async with running(temporal_client, settings) as app:
        ids = [wid for title in expected for wid in await _post(app, ALERTMANAGER, alertmanager_body(title))]
        await eventually(lambda: _all_running_with(app.client, ids, "message_id"), timeout=90,
                         what="a card id in every workflow")
    counts = cards_per_title(telegram.sent, expected)
    assert [t for t, n in counts.items() if n == 0] == [], "lost"
    repeated = [t for t, n in counts.items() if n > 1]
    assert len(repeated) <= 2, counts  # only the sends whose answer timed out
    for title in repeated:
        copies = [m["text"] for m in telegram.sent if f"<b>{title}</b>" in m["text"]]
        assert MAY_REPEAT not in copies[0] and all(MAY_REPEAT in c for c in copies[1:]), copies
    marked = [m for m in telegram.sent if MAY_REPEAT in m["text"]]
    assert len(marked) == sum(n - 1 for n in counts.values())
    print(f"\ntelegram bursts: {len(expected)} alerts, 4x429 + 4x502 + 2 timeouts: lost 0, "
          f"repeated {len(repeated)} (each marked 'may repeat'), stuck 0")


async def test_sentry_5xx_429_then_posted_and_401_surfaced(temporal_client, valkey_url, redis, task_queue,
                                                          telegram, sentry) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, sentry)
    async with running(temporal_client, settings) as app:
        sentry.fail_next(502, "<html>Bad Gateway</html>", times=2)
        sentry.fail_next(429, {"detail": "rate limited"}, headers={"Retry-After": "1"})
        first = await _post(app, "/api/v1/webhooks/sentry", json.dumps(unique_sentry_payload()).encode(),
                            {"sentry-hook-resource": "event_alert"})
        await eventually(lambda: _all_running_with(app.client, first, "sentry_comment"), timeout=60,
                         what="the first comment")
        assert (await _state(app.client, first[0]))["sentry_comment"] == "posted"

        sentry.fail_next(401, {"detail": "Invalid token"})
        second = await _post(app, "/api/v1/webhooks/sentry", json.dumps(unique_sentry_payload()).encode(),
                             {"sentry-hook-resource": "event_alert"})
        await eventually(lambda: _all_running_with(app.client, second, "sentry_comment"), timeout=30,
                         what="the second comment's outcome")
        assert (await _state(app.client, second[0]))["sentry_comment"] == "failed"  # surfaced, not retried
        assert sum(1 for call in sentry.calls if call[0] == "POST") == 5  # 2x502, 429, posted, 401
        assert app.metrics.registry.get_sample_value("awoooi_sentry_comments_total", {"outcome": "failed"}) >= 1
        # Both cards were delivered regardless.
        await eventually(lambda: _all_running_with(app.client, first + second, "message_id"), timeout=30,
                         what="both cards")
    assert sum(len(c) for c in sentry.comments.values()) == 1


async def test_a_hanging_llm_still_gives_a_card(temporal_client, valkey_url, redis, task_queue, telegram,
                                                openai) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, llm_base_url=openai.api_base,
                            llm_api_key=openai.api_key, llm_timeout_seconds=2)
    openai.answer_next("never mind", delay=60, times=5)
    title = titles(uuid.uuid4().hex[:6], 1)[0]
    async with running(temporal_client, settings) as app:
        ids = await _post(app, ALERTMANAGER, alertmanager_body(title))
        await eventually(lambda: _all_running_with(app.client, ids, "message_id"), timeout=60, what="the card")
        state = await _state(app.client, ids[0])
    assert "llm" not in state["analysis"]["analyzed_by"]
    assert "timeout" in state["analysis"]["fallback_reason"].lower() or "timed out" in state["analysis"]["fallback_reason"]
    assert cards_per_title(telegram.sent, [title])[title] == 1
