"""Run the webhook API until asked to stop: `awoooi api`, and the API half of `awoooi dev`.

Builds the API's object graph once from Settings (starter/wiring.py), learns which generation-1
incidents are still open, drains the intake spool (one replica at a time, by lease) and serves
uvicorn without its own signal handling: awoooi owns Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import structlog
import uvicorn
from prometheus_client import CollectorRegistry

from activities.connections import connect_redis, connect_temporal, http_client, masked, until_reachable
from core.metrics import Metrics
from core.settings import Settings
from starter.api import create_app
from starter.wiring import build_api_deps, spool_drainer

log = structlog.get_logger(__name__)


class ApiCannotListen(RuntimeError):
    """The API's port could not be bound (taken, or not ours)."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: awoooi owns Ctrl-C for every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _listen(server: uvicorn.Server, settings: Settings) -> None:
    """uvicorn exits the process (SystemExit) when it cannot bind; make that an ordinary error so
    the caller can say what happened in one line."""
    try:
        await server.serve()
    except SystemExit as exc:
        raise ApiCannotListen(f"the API cannot listen on {settings.api_host}:{settings.api_port} "
                              "(is the port taken? AWOOOI_API_PORT moves it)") from exc
    if not server.started:
        raise ApiCannotListen(f"the API did not start on {settings.api_host}:{settings.api_port}")


async def run_api(settings: Settings, *, stop: asyncio.Event, metrics: Metrics | None = None,
                  on_ready: Callable[[], None] | None = None) -> None:
    metrics = metrics or Metrics(CollectorRegistry())
    client = await until_reachable("Temporal", settings.temporal_address,
                                   "AWOOOI_TEMPORAL_ADDRESS, and that the Temporal frontend is up",
                                   lambda: connect_temporal(settings), stop)
    if client is None:
        return
    redis = connect_redis(settings)
    if await until_reachable("Valkey", masked(settings.redis_url), "AWOOOI_REDIS_URL, and that Valkey is up",
                             redis.ping, stop) is None:
        await redis.aclose()
        return
    http = http_client()
    tasks: list[asyncio.Task[None]] = []
    server: _Server | None = None
    try:
        deps = build_api_deps(settings, client, redis, http, metrics)
        await deps.intake.start()
        tasks.append(asyncio.create_task(spool_drainer(deps).run(stop), name="spool-drainer"))
        config = uvicorn.Config(create_app(deps), host=settings.api_host, port=settings.api_port,
                                log_config=None, access_log=False, lifespan="off",
                                timeout_keep_alive=settings.api_keep_alive_seconds)
        server = _Server(config)
        tasks.append(asyncio.create_task(_listen(server, settings), name="api"))
        log.info("api listening", url=f"http://{settings.api_host}:{settings.api_port}")
        while not server.started and not any(task.done() for task in tasks):
            await asyncio.sleep(0.05)
        if on_ready is not None and not any(task.done() for task in tasks):
            on_ready()
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        stopper.cancel()
    finally:
        stop.set()  # whatever ended the run ends every part (the spool drainer waits on it)
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()
        await redis.aclose()
