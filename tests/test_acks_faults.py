"""Re-notification and escalation on the real stack in separate processes (tests/stack.py), with a
worker kill -9 in the middle: a critical alert nobody acks is re-notified (replies to its card) and
escalated to the second chat, each exactly once; the Ack button (the real update shape) stops both."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from tests.harness import CHAT_ID, eventually
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from tests.repair_support import APPROVER_ID, TELEGRAM_HOOK, WEBHOOK_SECRET, ack_button, alertmanager, hook_headers, tap
from tests.stack import WEBHOOK_TOKEN, Stack, kill9

ESCALATION_CHAT = "-100999000111"
AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}


def _notices(telegram: TelegramLoopback) -> tuple[list[dict], list[dict]]:
    """(re-notifications replying to a card, escalations), as Telegram received them."""
    sent = list(telegram.sent)
    replies = [m for m in sent if m.get("reply_parameters") and "Still unacknowledged" in m["text"]]
    escalations = [m for m in sent if m["chat_id"] == ESCALATION_CHAT]
    return replies, escalations


async def test_renotified_and_escalated_once_each_across_a_worker_kill9_until_acked(tmp_path: Path) -> None:
    with TelegramLoopback() as telegram, SentryLoopback() as sentry:
        env = {"AWOOOI_RENOTIFY_CRITICAL": "0.1,0.2", "AWOOOI_ESCALATE_AFTER": "9",
               "AWOOOI_ESCALATION_CHAT_ID": ESCALATION_CHAT, "AWOOOI_TELEGRAM_APPROVER_IDS": str(APPROVER_ID),
               "AWOOOI_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
        stack = Stack(tmp_path, telegram, sentry, extra_env=env, task_queue=f"acks-{uuid.uuid4().hex[:6]}")
        stack.start()
        try:
            async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as api:
                body = alertmanager("KubeHpaMaxedOut", fingerprint=uuid.uuid4().hex[:16],
                                    labels={"severity": "critical"})
                assert (await api.post("/api/v1/webhooks/alertmanager", content=body, headers=AUTH)).status_code == 200
                await eventually(lambda: any(ack_button(telegram, m) for m in telegram.messages), timeout=60,
                                 what="the card with its Ack button")
                card = min(m for m in telegram.messages if ack_button(telegram, m))
                # The first re-notification 6 s after the card, then the worker dies.
                await eventually(lambda: len(_notices(telegram)[0]) == 1, timeout=60, what="re-notification 1")
                kill9(stack.worker)
                await asyncio.sleep(2)
                await asyncio.to_thread(stack.worker.start, 90)
                # Escalation at 9 s, the second re-notification 12 s after the first (at ~18 s).
                await eventually(lambda: len(_notices(telegram)[1]) == 1, timeout=60, what="the escalation")
                await eventually(lambda: len(_notices(telegram)[0]) == 2, timeout=60, what="re-notification 2")
                replies, escalations = _notices(telegram)
                assert all(r["reply_parameters"]["message_id"] == card and r["chat_id"] == CHAT_ID for r in replies)
                assert "Escalated: unacknowledged for" in escalations[0]["text"]
                tapped = await api.post(TELEGRAM_HOOK, json=tap(ack_button(telegram, card), card),
                                        headers=hook_headers())
                assert tapped.json()["status"] == "accepted", tapped.text
                await eventually(lambda: "Acked by @bijoyvbabu123" in telegram.messages[card][-1], timeout=30,
                                 what="the card shows the ack")
                before = _notices(telegram)
                await asyncio.sleep(15)  # the next wait (12 s) passes: nothing more after the ack
                after = _notices(telegram)
                assert len(after[0]) == len(before[0]) and len(after[1]) == 1, "the ack stopped both"
                # Each exactly once across the kill: every re-notification says a different age (6 s,
                # 18 s, ...), so a repeated one would show as a duplicate text; one escalation.
                texts = [r["text"].split("</b>")[0] for r in after[0]]
                assert len(texts) in (2, 3) and len(set(texts)) == len(texts), texts
        finally:
            stack.stop()
