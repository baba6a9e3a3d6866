"""The storm digest on real Valkey and the Telegram loopback over real HTTP.

Two CardActivities instances (two "workers", each with its own Valkey and HTTP clients) place
incidents in one chat at once. What counts is what the loopback shows at the end: each incident
exactly once, as its own card or as a line of exactly one digest message's final text, and how
many Telegram calls that took.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from temporalio.testing import ActivityEnvironment

from activities.chat.gate import ChatGate
from activities.chat.digest import Digest
from activities.chat.cards import CardSettings, CardActivities
from activities.chat.telegram.renderer import TelegramRenderer
from activities.valkey.messages import RedisMessageRefs
from activities.chat.telegram.render_digest import TEXT, digest_labels, render_digest, render_digest_line
from activities.chat.telegram.client import TelegramClient
from core.inputs import CardPlacement, PlaceCardInput
from core.metrics import Metrics
from core.models import IncidentStatus, IncidentView, Severity
from core.repair import RepairPhase
from tests.harness import CHAT_ID
from tests.loopback.telegram import TelegramLoopback, parse_telegram_html
from tests.test_render import UTC_TZ, make_view
from tests.test_render_repair import make_state

PROBE_CHAT = "-100777"
HEADER = TEXT["en"]["title"]


def incident(n: int, *, status: IncidentStatus = IncidentStatus.OPEN, occurrences: int = 1) -> IncidentView:
    base = make_view(status=status, labels={"alertname": "HighLatency", "instance": f"host-{n:02d}:9100",
                                            "job": "node", "severity": "critical"})
    return base.model_copy(update={"incident_id": f"inc-{n:02d}", "occurrences": occurrences,
                                   "alert": base.alert.model_copy(update={"title": "HighLatency"})})


def place(n: int, **kwargs: object) -> PlaceCardInput:
    view = kwargs.pop("view", None) or incident(n)
    return PlaceCardInput(view=view, card_key=f"inc-{n:02d}:lc", **kwargs)  # type: ignore[arg-type]


class Worker:
    """One worker's CardActivities: its own Valkey client, HTTP client, gate and digest."""

    def __init__(self, redis: Redis, http: httpx.AsyncClient, telegram: TelegramLoopback, *, threshold: int,
                 window: timedelta, interval: timedelta) -> None:
        self.metrics = Metrics(CollectorRegistry())
        self.acts = CardActivities(
            TelegramClient(http, telegram.token, telegram.base_url), TelegramRenderer(locale="en", tz=UTC_TZ), RedisMessageRefs(redis),
            CardSettings(chat_id=CHAT_ID, probe_chat_id=PROBE_CHAT), self.metrics,
            ChatGate(redis), Digest(redis, threshold=threshold, edit_interval=interval, window=window))

    async def place(self, inp: PlaceCardInput) -> CardPlacement:
        return await ActivityEnvironment().run(self.acts.place_card, inp)


@pytest.fixture
async def make_workers(valkey_url: str, redis: Redis, telegram: TelegramLoopback):  # noqa: ANN201
    """Build two workers with the given threshold, window and edit interval (seconds)."""
    clients: list[Redis] = []
    https: list[httpx.AsyncClient] = []

    def make(*, threshold: int = 5, window: float = 60.0, interval: float = 0.3) -> list[Worker]:
        built = []
        for _ in range(2):
            clients.append(Redis.from_url(valkey_url, decode_responses=True))
            https.append(httpx.AsyncClient(timeout=httpx.Timeout(5.0)))
            built.append(Worker(clients[-1], https[-1], telegram, threshold=threshold,
                                window=timedelta(seconds=window), interval=timedelta(seconds=interval)))
        return built

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        for http in https:
            await http.aclose()


@pytest.fixture
def workers(make_workers) -> list[Worker]:  # noqa: ANN001
    return make_workers()


def final_texts(telegram: TelegramLoopback) -> dict[str, str]:
    """Each message's visible text now (after all its edits), by its reference (a string, as the
    chat port names messages)."""
    return {str(mid): parse_telegram_html(texts[-1]) for mid, texts in telegram.messages.items()}


def digests(telegram: TelegramLoopback) -> dict[str, str]:
    return {mid: text for mid, text in final_texts(telegram).items() if text.startswith(f"🌩 {HEADER}")}


def shown_in(telegram: TelegramLoopback, incident_id: str) -> list[str]:
    """Every message whose final text shows the incident (its own card or a digest line)."""
    pattern = re.compile(rf"\b{re.escape(incident_id)}\b")
    return [mid for mid, text in final_texts(telegram).items() if pattern.search(text)]


def line_of(text: str, incident_id: str) -> str:
    lines = [line for line in text.splitlines() if incident_id in line]
    assert len(lines) == 1, (incident_id, text)
    return lines[0]


def a_digested(placements: list[CardPlacement]) -> int:
    """Which incidents got own cards depends on who won the race: pick one that did not."""
    return next(n for n, p in enumerate(placements) if p.digest_message_id is not None)


async def storm(workers: list[Worker], numbers: range) -> list[CardPlacement]:
    return list(await asyncio.gather(*(workers[n % 2].place(place(n)) for n in numbers)))


async def test_a_storm_of_30_from_two_workers_shows_each_incident_exactly_once(workers, telegram) -> None:
    placements = await storm(workers, range(30))

    own = [n for n, p in enumerate(placements) if p.message_id is not None]
    digested = [n for n, p in enumerate(placements) if p.digest_message_id is not None]
    assert len(own) == 5 and len(digested) == 25 and not set(own) & set(digested)
    shown = digests(telegram)
    assert len(shown) == 1, shown  # 25 lines fit one message
    for n in range(30):
        where = shown_in(telegram, f"inc-{n:02d}")
        placement = placements[n]
        assert where == [placement.message_id or placement.digest_message_id], (n, where)
    (text,) = shown.values()
    assert "25 incidents" in text and "awoooi card <incident_id>" in text
    # The line names the alert like its card, with the label that tells it from the others.
    line = line_of(text, f"inc-{digested[0]:02d}")
    assert "OPEN" in line and "Critical" in line and "HighLatency" in line and "api" in line
    assert f"instance=host-{digested[0]:02d}:9100" in line and "job=node" in line and "×1" in line
    sends = [m for m, _ in telegram.calls if m == "sendMessage"]
    edits = [m for m, _ in telegram.calls if m == "editMessageText"]
    print(f"\n30 incidents, threshold 5: {len(sends)} sendMessage + {len(edits)} editMessageText "
          f"= {len(telegram.calls)} Telegram calls")
    assert len(sends) == 6
    assert len(telegram.calls) <= 12, telegram.calls  # one send and a few coalesced edits for 25 lines
    assert telegram.violations == []


async def test_a_retried_placement_sends_nothing_new(workers, telegram) -> None:
    first = await storm(workers, range(8))
    calls = len(telegram.calls)
    again = await asyncio.gather(*(workers[(n + 1) % 2].place(place(n)) for n in range(8)))
    assert list(again) == first
    assert len(telegram.calls) == calls


async def test_an_updated_line_shows_in_the_digest_after_the_edit_interval(workers, telegram) -> None:
    n = a_digested(await storm(workers, range(8)))
    (digest_id, before), = digests(telegram).items()
    assert "OPEN" in line_of(before, f"inc-{n:02d}")
    resolved = incident(n, status=IncidentStatus.RESOLVED, occurrences=4)
    loop = asyncio.get_running_loop()
    started = loop.time()
    placement = await workers[0].place(place(n, view=resolved))  # a state change: it would like its own card
    assert placement == CardPlacement(digest_message_id=digest_id)  # still a storm: its line changes
    line = line_of(digests(telegram)[digest_id], f"inc-{n:02d}")
    assert "RESOLVED" in line and "✅" in line and "×4" in line
    assert loop.time() - started < 10.0  # it waited for the next coalesced edit, not for a retry
    assert shown_in(telegram, f"inc-{n:02d}") == [digest_id]


async def test_force_own_gets_its_own_card_in_a_storm_and_leaves_the_digest(workers, telegram) -> None:
    n = a_digested(await storm(workers, range(8)))
    (digest_id, _), = digests(telegram).items()
    placement = await workers[1].place(place(n, force_own=True))
    assert placement.message_id is not None and placement.digest_message_id is None
    assert shown_in(telegram, f"inc-{n:02d}") == [placement.message_id]
    assert "2 incidents" in digests(telegram)[digest_id]
    # A brand new incident on demand too.
    fresh = await workers[0].place(place(20, force_own=True))
    assert fresh.message_id is not None and shown_in(telegram, "inc-20") == [fresh.message_id]


async def test_a_repair_awaiting_approval_gets_its_own_card_with_buttons(workers, telegram) -> None:
    await storm(workers, range(8))
    repair = make_state(RepairPhase.AWAITING_APPROVAL)
    placement = await workers[0].place(place(21, repair=repair, own_card=False))
    assert placement.message_id is not None
    assert telegram.keyboard(int(placement.message_id)) is not None


async def test_probe_cards_are_never_digested(workers, telegram) -> None:
    placements = await asyncio.gather(*(workers[n % 2].place(place(n, probe=True)) for n in range(8)))
    assert all(p.message_id is not None and p.digest_message_id is None for p in placements)
    assert {params["chat_id"] for params in telegram.sent} == {PROBE_CHAT}
    assert digests(telegram) == {}


async def test_after_the_window_new_incidents_get_their_own_cards_again(make_workers, telegram) -> None:
    workers = make_workers(threshold=2, window=1.0)
    placements = await storm(workers, range(4))
    assert sum(p.message_id is not None for p in placements) == 2
    digested = a_digested(placements)
    await asyncio.sleep(1.2)
    fresh = await workers[0].place(place(10))
    assert fresh.message_id is not None
    # The storm is over: a digested incident's next state change brings its own card.
    moved = await workers[1].place(place(digested, view=incident(digested, status=IncidentStatus.RESOLVED)))
    assert moved.message_id is not None
    assert shown_in(telegram, f"inc-{digested:02d}") == [moved.message_id]


async def test_re_asks_get_cards_at_the_thresholds_pace_and_never_make_a_storm(make_workers, telegram) -> None:
    """After a storm the lines ask again (the workflow does, every window): at most ``threshold``
    of them get their cards per window, and asking again is not a new incident, so a real new
    incident meanwhile still gets its own card at once."""
    workers = make_workers(threshold=2, window=1.0)
    placements = await storm(workers, range(8))
    lines = [n for n, p in enumerate(placements) if p.digest_message_id is not None]
    assert len(lines) == 6
    during = await workers[0].place(place(lines[0], reask=True))
    assert during.message_id is None, "in the storm a re-ask stays a line"
    await asyncio.sleep(1.2)
    asked = await asyncio.gather(*(workers[n % 2].place(place(n, reask=True)) for n in lines))
    assert sum(p.message_id is not None for p in asked) == 2, "the threshold's worth per window"
    fresh = await workers[0].place(place(20))
    assert fresh.message_id is not None, "re-asks are no storm: a new incident gets its card"
    for n in range(8):
        assert len(shown_in(telegram, f"inc-{n:02d}")) == 1


async def test_a_count_change_updates_the_line_without_a_card(make_workers, telegram) -> None:
    workers = make_workers(threshold=1)
    n = a_digested(await storm(workers, range(3)))
    calls = len(telegram.calls)
    placement = await workers[0].place(place(n, view=incident(n, occurrences=9), own_card=False))
    assert placement.digest_message_id is not None
    assert "×9" in line_of(digests(telegram)[placement.digest_message_id], f"inc-{n:02d}")
    assert len(telegram.calls) == calls + 1  # one edit


async def test_a_full_digest_message_starts_the_next_one(make_workers, telegram) -> None:
    workers = make_workers(threshold=1)
    placements = await storm(workers, range(1, 40))
    shown = digests(telegram)
    assert len(shown) == 2
    for n, placement in zip(range(1, 40), placements):
        assert len(shown_in(telegram, f"inc-{n:02d}")) == 1
    assert all(len(text) <= 4096 for text in shown.values())


def test_digest_line_labels_and_bound() -> None:
    view = make_view(labels={"alertname": "DiskFull", "severity": "warning", "service": "api", "pod": "p-1",
                             "instance": "10.0.0.1:9100", "zeta": "z", "alpha": "a", "beta": "b"})
    assert digest_labels(view) == [("instance", "10.0.0.1:9100"), ("pod", "p-1"), ("alpha", "a"), ("beta", "b")]
    long = make_view(labels={"alertname": "X", **{f"label{i}": "界" * 40 for i in range(6)}})
    line = render_digest_line(long, locale="zh-TW", max_bytes=350)
    assert len(line.encode()) <= 350
    parse_telegram_html(render_digest([line], locale="zh-TW", may_repeat=True))


def severe(n: int, severity: Severity) -> PlaceCardInput:
    view = incident(n)
    return place(n, view=view.model_copy(update={"alert": view.alert.model_copy(update={"severity": severity})}))


async def test_a_digest_fills_its_first_send_and_a_critical_line_goes_on_top(make_workers, telegram) -> None:
    """A storm's message does not go out with one line while more follow (each call is one of the ~20
    a group chat allows a minute); a critical line neither waits for that nor sits under warnings
    (docs/adr/0022-first-words-first.md)."""
    workers = make_workers(threshold=1, interval=1.0)
    await workers[0].place(severe(0, Severity.WARNING))  # its own card: the storm starts after it
    sends_before = len(telegram.sent)
    placing = []
    for n in range(1, 6):  # one every 0.1 s, as a storm's incidents come in
        placing.append(asyncio.create_task(workers[n % 2].place(severe(n, Severity.WARNING))))
        await asyncio.sleep(0.1)
    await asyncio.gather(*placing)
    sent = telegram.sent[sends_before:]
    # One digest message with all five lines, sent once, never edited to add them.
    assert len(sent) == 1
    assert all(f"inc-{n:02d}" in sent[0]["text"] for n in range(1, 6))
    assert not telegram.edits
    # A critical incident in a storm of warnings gets its own card: it is not made a line.
    await workers[1].place(severe(6, Severity.CRITICAL))
    assert "inc-06" in telegram.sent[-1]["text"] and "Alert storm" not in telegram.sent[-1]["text"]
    # Past the threshold, criticals are a storm too: a line, but on top of the warnings.
    await workers[0].place(severe(7, Severity.CRITICAL))
    (text,) = digests(telegram).values()
    lines = [line for line in text.splitlines() if "inc-" in line]
    assert "inc-07" in lines[0], text
