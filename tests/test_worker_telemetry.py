"""An unscraped worker's telemetry never floods its log (issue 19), and every line it writes is JSON.

`awoooi worker` runs as its own process on the test's Temporal and Valkey; alerts flow through the
API; nothing scrapes the worker until the end. The Temporal SDK records its metrics into a bounded
buffer and writes one "Core's metrics buffer is full!" line per metric call it drops once the
buffer is full: the worker must drain the buffer on its own schedule, so a buffer the workload
would have overflowed many times over between scrapes never fills; and when a buffer too small for
any schedule does fill, turn those lines into a counter and one warning.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from starter.embedded import free_port
from worker.sdk_metrics import next_wait
from tests.alert_flow import ALERTMANAGER, alertmanager_body, cards_per_title, titles
from tests.harness import CHAT_ID, eventually, running, settings_for

AWOOOI = str(Path(sys.executable).parent / "awoooi")
# What the Rust runtime itself prints to stderr when a call into it panics (outside any logging).
RUST_PANIC_LINES = ("thread '", "You must initialize the reference", "note: run with `RUST_BACKTRACE")


def is_panic_text(line: str) -> bool:
    return not line.strip() or line.startswith(RUST_PANIC_LINES)


def worker_env(temporal_address: str, valkey_url: str, task_queue: str, telegram, **extra: str) -> dict[str, str]:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    return env | {
        "AWOOOI_TEMPORAL_ADDRESS": temporal_address,
        "AWOOOI_REDIS_URL": valkey_url,
        "AWOOOI_TASK_QUEUE": task_queue,
        "AWOOOI_TELEGRAM_BOT_TOKEN": telegram.token,
        "AWOOOI_TELEGRAM_CHAT_ID": CHAT_ID,
        "AWOOOI_TELEGRAM_API_BASE": telegram.base_url,
        "AWOOOI_DIGEST_THRESHOLD": "10000",
        "AWOOOI_TELEGRAM_CHAT_INTERVAL_SECONDS": "0",
        "AWOOOI_TELEGRAM_GROUP_PER_MINUTE": "10000",
        "AWOOOI_TELEGRAM_GLOBAL_PER_SECOND": "10000",
        "AWOOOI_LOG_FORMAT": "auto",  # stderr is a file here: auto must mean JSON
        **extra,
    }


@dataclass
class Run:
    metrics: dict[str, float]  # sample name -> sum over its label sets, from the one scrape at the end
    lines: list[str]


async def unscraped_worker(temporal_client, valkey_url: str, task_queue: str, telegram, tmp_path: Path,  # noqa: ANN001
                           alerts: int, **extra: str) -> Run:
    """Start `awoooi worker`, send ``alerts`` alerts through the API, wait for every card, scrape the
    worker's /metrics once, SIGTERM it (it must exit 0) and return what it showed and logged."""
    port = free_port()
    address = temporal_client.service_client.config.target_host
    env = worker_env(address, valkey_url, task_queue, telegram, AWOOOI_WORKER_METRICS_PORT=str(port), **extra)
    expected = titles(uuid.uuid4().hex[:6], alerts)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([AWOOOI, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        async with running(temporal_client, settings_for(valkey_url, task_queue, telegram), worker=False) as app:
            for title in expected:
                answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(title),
                                            headers={"content-type": "application/json"})
                assert answer.status_code == 200, answer.text
            await eventually(lambda: telegram.sent_count() >= len(expected), timeout=120, what="every card")
        await asyncio.sleep(1.5)  # a scheduled drain after the last card
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        os.kill(worker.pid, signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 40) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    counts = cards_per_title(telegram.sent, expected)
    assert set(counts.values()) == {1}, counts
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return Run(found, log.read_text(errors="replace").splitlines())


def parsed(lines: list[str]) -> list[dict]:
    out = []
    for number, line in enumerate(lines, 1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"worker.log:{number} is not JSON: {line[:300]!r}") from None
    return out


def about_the_buffer(lines: list[dict]) -> list[dict]:
    return [line for line in lines if "metrics buffer" in json.dumps(line) or "sdk_metric" in json.dumps(line)]


async def test_a_buffer_a_scrape_only_drain_would_overflow_never_fills(temporal_client, valkey_url, redis,
                                                                       task_queue, telegram, tmp_path) -> None:
    """4,000 entries drained every quarter second (the default, 50,000 every second, scaled down to
    what a test can fill, with the same margin over what alerts record): the alerts record more
    updates than that while nothing scrapes (a scrape-only drain would have overflowed), yet nothing
    is dropped, nothing is logged about it, and every line is JSON."""
    run = await unscraped_worker(temporal_client, valkey_url, task_queue, telegram, tmp_path, 100,
                                 AWOOOI_WORKER_SDK_METRICS_BUFFER="4000", AWOOOI_WORKER_SDK_METRICS_DRAIN_SECONDS="0.25")
    drained = run.metrics["awoooi_sdk_metric_updates_drained_total"]
    assert drained > 6_000, f"only {drained:.0f} updates: a 4,000-entry buffer would not have overflowed"
    assert run.metrics["awoooi_sdk_metric_updates_dropped_total"] == 0
    assert run.metrics["awoooi_sdk_metric_drains_failed_total"] == 0
    # The SDK's own counters and histograms.
    assert run.metrics.get("temporal_workflow_task_schedule_to_start_latency_count", 0) > 0, sorted(run.metrics)
    assert run.metrics.get("temporal_activity_execution_latency_count", 0) > 0, sorted(run.metrics)
    assert run.metrics.get("temporal_request_total", 0) > 0, sorted(run.metrics)
    lines = parsed(run.lines)
    assert about_the_buffer(lines) == []
    print(f"\nunscraped worker, 4,000-entry buffer, 100 alerts: {drained:.0f} SDK updates drained on schedule, "
          f"0 dropped, {len(lines)} log lines, all JSON")


async def test_a_buffer_too_small_for_any_schedule_is_one_warning_and_a_counter(
        temporal_client, valkey_url, redis, task_queue, telegram, tmp_path) -> None:
    """20 entries overflow at the worker's start and in every burst. The SDK's line per dropped call
    (hundreds here, hundreds of thousands in a storm) becomes a counter and one warning. After a
    full buffer the SDK fails some drains (it drops the creation of instruments it is then asked to
    update) and prints a panic on stderr by itself each time: failed drains back off, so those stay few."""
    run = await unscraped_worker(temporal_client, valkey_url, task_queue, telegram, tmp_path, 20,
                                 AWOOOI_WORKER_SDK_METRICS_BUFFER="20", RUST_BACKTRACE="0")
    dropped = run.metrics["awoooi_sdk_metric_updates_dropped_total"]
    failed = run.metrics["awoooi_sdk_metric_drains_failed_total"]
    assert dropped > 100, f"only {dropped:.0f} dropped: the buffer did not overflow, the test proves nothing"
    panic = [line for line in run.lines if is_panic_text(line)]
    # Four lines of panic text per failed drain. The scrape that read ``failed`` can come before one
    # more scheduled drain and before the last one, at shutdown: both may fail after it.
    assert len(panic) <= 4 * (failed + 2), (len(panic), failed, panic[:8])
    lines = parsed([line for line in run.lines if not is_panic_text(line)])
    about = about_the_buffer(lines)
    assert not [line for line in about if "Dropping call" in line["event"]], "the SDK's own per-call line got through"
    warnings = [line for line in about if line["logger"] == "worker.sdk_metrics"]
    assert len(warnings) == len(about) and 1 <= len(about) <= 2, about
    assert failed <= 6, f"{failed:.0f} failed drains: they should back off"
    assert run.metrics.get("temporal_request_total", 0) > 0, sorted(run.metrics)
    print(f"\nunscraped worker, 20-entry buffer, 20 alerts: {dropped:.0f} SDK updates dropped and counted, "
          f"{failed:.0f} failed drains, {len(about)} log line(s) about it, {len(panic)} lines of SDK panic text")


def test_drains_come_sooner_after_a_burst_and_back_off_after_failures() -> None:
    def wait(drained: int | None, last: float) -> float:
        return next_wait(drained, last, buffer_size=50_000, drain_seconds=1.0, longest=600.0)

    assert wait(1_000, 1.0) == 1.0
    assert wait(30_000, 1.0) == 0.05  # over half full: drain again at once
    assert wait(30_000, 0.05) == 0.05 and wait(10, 0.05) == 1.0
    waits = [1.0]
    for _ in range(12):
        waits.append(wait(None, waits[-1]))
    assert waits[1:5] == [2.0, 4.0, 8.0, 16.0] and waits[-1] == 600.0
    assert wait(None, 0.05) == 2.0 and wait(5, 600.0) == 1.0  # a drain that works: back on schedule
