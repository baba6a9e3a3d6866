"""A running awoooi for tests: a real worker on the test Temporal, the API over ASGI, the real
Valkey, and loopback Telegram/Sentry, all wired by the production composition root."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from prometheus_client import CollectorRegistry
from temporalio.client import Client

from core.metrics import Metrics
from core.settings import Settings
from starter.api import create_app
from starter.embedded import free_port
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from activities.connections import connect_redis
from starter.wiring import build_api_deps, spool_drainer
from worker.wiring import build_activities, build_worker

CHAT_ID = "-1001234567890"


def settings_for(
    valkey_url: str,
    task_queue: str,
    telegram: TelegramLoopback | None = None,
    sentry: SentryLoopback | None = None,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "temporal_address": "in-test",
        "redis_url": valkey_url,
        "task_queue": task_queue,
        "resolve_grace_seconds": 0,
        # Every count change on the card at once, as before storm-v1; tests/test_storm.py checks the bound.
        "card_edit_interval": 0,
        # Nor held back by the per-minute card budget; tests/test_storm.py checks that bound too.
        "card_budget_calls": 0,
        # Telegram's limits off (every test shares one chat and one Valkey); tests/test_telegram_pacing.py keeps them.
        "telegram_chat_interval_seconds": 0,
        "telegram_group_per_minute": 10_000,
        "telegram_global_per_second": 10_000,
        # No storm digest: tests send far more than 10 incidents a minute to the one chat;
        # tests/test_digest.py and tests/test_scale_out.py set their own threshold.
        "digest_threshold": 10_000,
        # No re-notification of unacknowledged incidents: the dev server's incidents live for real
        # minutes; tests/test_acks_workflow.py and tests/test_renotify_activity.py keep them.
        "renotify_critical": [], "renotify_error": [], "renotify_warning": [], "renotify_info": [],
    }
    if telegram is not None:
        values |= {"telegram_bot_token": telegram.token, "telegram_chat_id": CHAT_ID,
                   "telegram_api_base": telegram.base_url}
    if sentry is not None:
        values |= {"sentry_api_url": sentry.base_url, "sentry_api_token": sentry.token, "sentry_org": sentry.org}
    return Settings(**(values | overrides))


@dataclass
class Running:
    api: httpx.AsyncClient
    client: Client
    metrics: Metrics
    settings: Settings


@asynccontextmanager
async def running(client: Client, settings: Settings, *, worker: bool = True) -> AsyncIterator[Running]:
    metrics = Metrics(CollectorRegistry())
    redis = connect_redis(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    deps = build_api_deps(settings, client, redis, http, metrics)
    await deps.intake.start()
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://awoooi.test")
    stop = asyncio.Event()
    drainer = asyncio.create_task(spool_drainer(deps).run(stop), name="spool-drainer")
    try:
        if worker:
            async with build_worker(client, settings, build_activities(settings, redis, http, metrics, client)):
                yield Running(api, client, metrics, settings)
        else:
            yield Running(api, client, metrics, settings)
    finally:
        stop.set()
        await drainer
        await api.aclose()
        await http.aclose()
        await redis.aclose()


async def eventually(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll without blocking the event loop (the worker runs on it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: inside pytest, Ctrl-C must stop the test run, not just the API."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Serving:
    """awoooi listening on a real TCP port, for senders that are separate processes (Alertmanager)."""

    base_url: str
    client: Client
    metrics: Metrics
    settings: Settings


@asynccontextmanager
async def serving(client: Client, settings: Settings, *, worker: bool = True,
                  port: int | None = None) -> AsyncIterator[Serving]:
    """Like :func:`running`, but the API is uvicorn on 127.0.0.1 instead of an in-process transport.

    A real sender then exercises everything ASGI transport skips: HTTP parsing, keep-alive, the
    Authorization header as the sender writes it. ``port`` lets a caller pick the port up front
    (to write it into a sender's config before awoooi starts); by default a free one is chosen.
    """
    metrics = Metrics(CollectorRegistry())
    redis = connect_redis(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    deps = build_api_deps(settings, client, redis, http, metrics)
    await deps.intake.start()
    stop = asyncio.Event()
    drainer = asyncio.create_task(spool_drainer(deps).run(stop), name="spool-drainer")
    port = port or free_port()
    server = _QuietServer(uvicorn.Config(create_app(deps), host="127.0.0.1", port=port, log_config=None,
                                         access_log=False, lifespan="off", timeout_graceful_shutdown=5,
                                         timeout_keep_alive=settings.api_keep_alive_seconds))
    api = asyncio.create_task(server.serve(), name=f"awoooi-api-{port}")
    try:
        await eventually(lambda: server.started or api.done(), timeout=15, what="uvicorn to listen")
        if api.done():
            api.result()  # raises what stopped it (port taken, ...)
            raise RuntimeError("uvicorn exited before it started")
        served = Serving(f"http://127.0.0.1:{port}", client, metrics, settings)
        if worker:
            async with build_worker(client, settings, build_activities(settings, redis, http, metrics, client)):
                yield served
        else:
            yield served
    finally:
        server.should_exit = True
        stop.set()
        await asyncio.gather(api, drainer, return_exceptions=True)
        await http.aclose()
        await redis.aclose()
