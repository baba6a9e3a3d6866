"""digest-v1 end to end: a storm of distinct alerts through the webhook, the incident workflows and
place_card, counted at the Telegram loopback (docs/adr/0016-digest-cards.md).

Real Temporal, real Valkey, Telegram over HTTP. Each test uses a chat of its own: the storm window
is counted per chat in the shared Valkey, and other tests' cards must not count towards it.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid

from temporalio.client import Client

from activities.chat.telegram.render_digest import TEXT
from starter.ops_cli import own_card
from tests.alert_flow import occurrence_body
from tests.harness import eventually, running, settings_for
from tests.loopback.telegram import TelegramLoopback

ALERTMANAGER = "/api/v1/webhooks/alertmanager"
API_TOKEN = "digest-api-token"
DIGEST_TITLE = TEXT["en"]["title"]


def _body(run: str, i: int, status: str = "firing", n: int = 0) -> bytes:
    return occurrence_body(f"{run}{i:04d}", {"alertname": "DiskFull", "instance": f"disk-{run}-{i}",
                                             "severity": "warning"},
                           "a storm of distinct alerts", f"2026-12-02T10:00:{n:02d}Z", status)


def _settings(valkey_url: str, task_queue: str, telegram: TelegramLoopback, **overrides: object):  # noqa: ANN202
    chat = f"-100{uuid.uuid4().int % 10**9}"
    return settings_for(valkey_url, task_queue, telegram, telegram_chat_id=chat, api_token=API_TOKEN,
                        digest_threshold=3, digest_edit_interval_seconds=0.3, **overrides)


def _showing(telegram: TelegramLoopback, run: str, i: int) -> list[int]:
    """The messages whose current text shows alert ``i`` (its own card, or its digest line)."""
    label = re.compile(rf"disk-{run}-{i}(?!\d)")
    return [m for m, texts in list(telegram.messages.items()) if label.search(texts[-1])]


def _digests(telegram: TelegramLoopback) -> list[int]:
    return [m for m, texts in list(telegram.messages.items()) if DIGEST_TITLE in texts[0]]


def _calls(telegram: TelegramLoopback) -> int:
    return len(telegram.sent) + len(telegram.edits)


async def _post(app, bodies: list[bytes]) -> list[dict]:  # noqa: ANN001
    answers = await asyncio.gather(*(app.api.post(ALERTMANAGER, content=b) for b in bodies))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json()["alerts"][0] for a in answers]


async def test_a_storm_of_distinct_alerts_is_three_cards_and_one_digest_each_alert_shown_once(
        temporal_client: Client, valkey_url, task_queue, telegram) -> None:
    run = uuid.uuid4().hex[:6]
    # A long window: nothing asks for its own card again during this test.
    settings = _settings(valkey_url, task_queue, telegram, digest_window_seconds=600)
    async with running(temporal_client, settings) as app:
        answers = await _post(app, [_body(run, i) for i in range(12)])
        incidents = [a["incident_id"] for a in answers]

        def each_once() -> bool:
            return all(len(_showing(telegram, run, i)) == 1 for i in range(12))

        await eventually(each_once, timeout=30, what="every alert shown in exactly one message")
        digests = _digests(telegram)
        assert len(digests) == 1, "one digest message for the storm"
        cards = [m for m in telegram.messages if m not in digests]
        assert len(cards) == 3, "the threshold's cards, then lines"
        assert "9 incidents in this message" in telegram.messages[digests[0]][-1]
        assert _calls(telegram) <= 2 * 12, "at most 2 Telegram calls per incident"

        # A repeat of a digested alert updates its line, and never sends a card of its own.
        digested = next(i for i in range(12) if _showing(telegram, run, i) == digests)
        sent_before = len(telegram.sent)
        await _post(app, [_body(run, digested, n=1)])
        await eventually(lambda: "×2" in telegram.messages[digests[0]][-1], what="the count in the line")
        # A resolution during the storm is its line, too.
        await _post(app, [_body(run, digested, status="resolved", n=1)])
        await eventually(lambda: "RESOLVED" in telegram.messages[digests[0]][-1].upper(), what="the resolved line")
        assert len(telegram.sent) == sent_before
        assert all(len(_showing(telegram, run, i)) == 1 for i in range(12))
        assert not telegram.violations, telegram.violations

        # On demand: its own card, the line leaves the digest; asking again answers the same card.
        wanted = next(i for i in range(12) if i != digested and _showing(telegram, run, i) == digests)
        headers = {"authorization": f"Bearer {API_TOKEN}"}
        first = await app.api.post(f"/api/v1/incidents/{incidents[wanted]}/card", headers=headers)
        assert first.status_code == 200, first.text
        shown = first.json()
        assert shown["status"] == "shown" and int(shown["message_id"]) not in digests
        assert "DiskFull" in telegram.messages[int(shown["message_id"])][-1]
        again = await app.api.post(f"/api/v1/incidents/{incidents[wanted]}/card", headers=headers)
        assert again.json()["message_id"] == shown["message_id"]
        await eventually(lambda: _showing(telegram, run, wanted) == [int(shown["message_id"])],
                         what="the line gone from the digest")
        out, err = io.StringIO(), io.StringIO()
        assert await own_card(temporal_client, settings, incidents[wanted], out=out, err=err) == 0, err.getvalue()
        assert str(shown["message_id"]) in out.getvalue()

        # Refusals, before anything is started.
        assert (await app.api.post(f"/api/v1/incidents/{incidents[wanted]}/card")).status_code == 401
        assert (await app.api.post("/api/v1/incidents/not%20an%20id/card", headers=headers)).status_code == 422
        missing = await app.api.post(f"/api/v1/incidents/alertmanager-{uuid.uuid4().hex}/card", headers=headers)
        assert missing.status_code == 404, missing.text


async def test_once_the_storm_passes_open_digested_incidents_get_their_own_cards(
        temporal_client: Client, valkey_url, task_queue, telegram) -> None:
    """Every window the open digested incidents ask again; at most the threshold's worth get a card
    per window, so the end of a storm does not flood the chat either."""
    run = uuid.uuid4().hex[:6]
    settings = _settings(valkey_url, task_queue, telegram, digest_window_seconds=3)
    async with running(temporal_client, settings) as app:
        await _post(app, [_body(run, i) for i in range(7)])
        await eventually(lambda: all(len(_showing(telegram, run, i)) == 1 for i in range(7)), timeout=30,
                         what="each alert shown once")
        digest = _digests(telegram)
        assert len(digest) == 1
        def own_cards() -> int:
            return len([m for m in telegram.messages if m not in digest])

        async def all_own() -> bool:
            return all(len(_showing(telegram, run, i)) == 1 and _showing(telegram, run, i) != digest
                       for i in range(7))

        await eventually(all_own, timeout=60, what="every open incident with its own card")
        assert own_cards() == 7, "one card each, none twice"
        final = telegram.messages[digest[0]][-1]
        assert "0 incidents" not in final and "own card" in final.lower(), final
        assert not telegram.violations, telegram.violations
