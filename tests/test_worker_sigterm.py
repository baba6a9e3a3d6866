"""SIGTERM drains the worker (what Kubernetes sends on a rollout): 0 duplicate cards, 0 lost.

`awoooi worker` runs as its own process on the test's Temporal and Valkey while alerts flow through
the API; the loopback Telegram answers each sendMessage slowly, so activities are in flight when
the worker gets SIGTERM (by its PID). It must stop polling, let them finish, and exit; a second
worker takes the rest. Every alert's card arrives exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.alert_flow import ALERTMANAGER, alertmanager_body, cards_per_title, titles
from tests.harness import CHAT_ID, eventually, running, settings_for

AWOOOI = str(Path(sys.executable).parent / "awoooi")


def worker_env(temporal_address: str, valkey_url: str, task_queue: str, telegram, **extra: str) -> dict[str, str]:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env |= {
        "AWOOOI_TEMPORAL_ADDRESS": temporal_address,
        "AWOOOI_REDIS_URL": valkey_url,
        "AWOOOI_TASK_QUEUE": task_queue,
        "AWOOOI_TELEGRAM_BOT_TOKEN": telegram.token,
        "AWOOOI_TELEGRAM_CHAT_ID": CHAT_ID,
        "AWOOOI_TELEGRAM_API_BASE": telegram.base_url,
        "AWOOOI_WORKER_METRICS_PORT": "0",
        "AWOOOI_LOG_FORMAT": "json",
        # One card per alert is what these tests count: no storm digest in the shared chat.
        "AWOOOI_DIGEST_THRESHOLD": "10000",
        **extra,
    }
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([AWOOOI, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


async def test_sigterm_drains_in_flight_cards(temporal_client, valkey_url, redis, task_queue, telegram,
                                              tmp_path) -> None:
    address = temporal_client.service_client.config.target_host
    env = worker_env(address, valkey_url, task_queue, telegram)
    expected = titles(uuid.uuid4().hex[:6], 24)
    telegram.stall_next("sendMessage", 0.25, times=10_000)  # answers arrive slowly: sends in flight
    first = start_worker(env, tmp_path / "worker-1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        settings = settings_for(valkey_url, task_queue, telegram)
        async with running(temporal_client, settings, worker=False) as app:
            for title in expected:
                answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(title),
                                            headers={"content-type": "application/json"})
                assert answer.status_code == 200, answer.text
            await eventually(lambda: telegram.sent_count() >= 3, timeout=60, what="the first cards")
            os.kill(first.pid, signal.SIGTERM)
            stopped_at = time.monotonic()
            code = await asyncio.to_thread(first.wait, 40)
            drained_in = time.monotonic() - stopped_at
            assert code == 0, (tmp_path / "worker-1.log").read_text()[-3000:]
            sent_by_first = telegram.sent_count()
            second = start_worker(env, tmp_path / "worker-2.log")
            # Every title, not a count of messages: a repeat must not stand in for a card still on its way.
            await eventually(lambda: min(cards_per_title(telegram.sent, expected).values()) >= 1, timeout=120,
                             what="every card")
            await asyncio.sleep(2)  # room for a duplicate to show up
    finally:
        stop(first)
        if second is not None:
            stop(second)
    counts = cards_per_title(telegram.sent, expected)
    others = [m["text"][:80] for m in telegram.sent if not any(f"<b>{t}</b>" in m["text"] for t in expected)]
    seen = f"counts {dict(counts)}; other messages {others}"
    assert [t for t, n in counts.items() if n == 0] == [], f"lost: {seen}"
    assert [t for t, n in counts.items() if n > 1] == [], f"duplicated: {seen}"
    assert 3 <= sent_by_first < len(expected), sent_by_first
    assert drained_in < 30, drained_in
    log = (tmp_path / "worker-1.log").read_text()
    assert "may have reached the chat" not in log and "reference not kept" not in log
    print(f"\nSIGTERM drain: {len(expected)} alerts, {sent_by_first} cards by the first worker, "
          f"drained in {drained_in:.1f}s, lost 0, duplicates 0")


async def test_kill_9_repeats_at_most_the_one_card_in_flight(temporal_client, valkey_url, redis, task_queue,
                                                            telegram, tmp_path) -> None:
    """kill -9 while Telegram holds the answer to a card it already took: the chat gate lets only
    that one card be in flight, so only it is sent again, and the copy says it may repeat."""
    from activities.words import LABELS

    address = temporal_client.service_client.config.target_host
    env = worker_env(address, valkey_url, task_queue, telegram)
    expected = titles(uuid.uuid4().hex[:6], 8)
    killed = asyncio.Event()
    first = start_worker(env, tmp_path / "worker-1.log")
    second: subprocess.Popen[bytes] | None = None
    loop = asyncio.get_running_loop()
    try:
        settings = settings_for(valkey_url, task_queue, telegram)
        async with running(temporal_client, settings, worker=False) as app:
            for title in expected[:3]:
                await app.api.post(ALERTMANAGER, content=alertmanager_body(title),
                                   headers={"content-type": "application/json"})
            await eventually(lambda: telegram.sent_count() >= 3, timeout=60, what="the first cards")
            # The next card reaches Telegram; its answer is held until the worker is dead.
            telegram.stall_next("sendMessage", 3.0)
            telegram.after_next_send(lambda _id: loop.call_soon_threadsafe(killed.set))
            for title in expected[3:]:
                await app.api.post(ALERTMANAGER, content=alertmanager_body(title),
                                   headers={"content-type": "application/json"})
            await asyncio.wait_for(killed.wait(), 60)
            os.kill(first.pid, signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
            second = start_worker(env, tmp_path / "worker-2.log")
            # The lost attempt is retried after post_card's 30 s start-to-close timeout.
            await eventually(lambda: len({m["text"] for m in telegram.sent}) >= len(expected) and
                             sum(cards_per_title(telegram.sent, expected).values()) >= len(expected) + 1,
                             timeout=120, what="every card and the one repeat")
            await asyncio.sleep(2)
    finally:
        stop(first)
        if second is not None:
            stop(second)
    counts = cards_per_title(telegram.sent, expected)
    assert [t for t, n in counts.items() if n == 0] == [], "lost"
    repeated = [t for t, n in counts.items() if n > 1]
    assert len(repeated) == 1 and counts[repeated[0]] == 2, counts
    copies = [m["text"] for m in telegram.sent if f"<b>{repeated[0]}</b>" in m["text"]]
    assert LABELS["en"]["may_repeat"] not in copies[0] and LABELS["en"]["may_repeat"] in copies[1]
    print(f"\nkill -9 with a card in flight: {len(expected)} alerts in one chat, lost 0, repeated 1 (marked)")
