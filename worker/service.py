"""Run awoooi's long-lived parts (worker, webhook API, or both) until asked to stop.

Used by `awoooi worker`, `awoooi api` and `awoooi dev`. Builds the object graph once from
Settings (worker/wiring.py), then waits on a stop event so Ctrl-C and SIGTERM shut down in order:
the API stops taking deliveries first, then the worker finishes its in-flight activities.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator

import structlog
import uvicorn
from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core import search_attributes as sa
from core.metrics import Metrics
from core.settings import Settings
from starter.api import create_app
from worker.bytecode import refresh_workflow_bytecode
from worker.sdk_metrics import SdkMetrics
from worker.wiring import (
    build_activities,
    build_api_deps,
    build_worker,
    connect_redis,
    connect_temporal,
    http_client,
    spool_drainer,
)

log = structlog.get_logger(__name__)


def _masked(url: str) -> str:
    """A Redis URL without its password, fit for a log line."""
    return re.sub(r"//[^/@]*@", "//***@", url)


class ApiCannotListen(RuntimeError):
    """The API's port could not be bound (taken, or not ours)."""


async def _listen(server: uvicorn.Server, settings: Settings) -> None:
    """uvicorn exits the process (SystemExit) when it cannot bind; make that an ordinary error so
    the worker shuts down in order and the caller can say what happened in one line."""
    try:
        await server.serve()
    except SystemExit as exc:
        raise ApiCannotListen(f"the API cannot listen on {settings.api_host}:{settings.api_port} "
                              "(is the port taken? AWOOOI_API_PORT moves it)") from exc
    if not server.started:
        raise ApiCannotListen(f"the API did not start on {settings.api_host}:{settings.api_port}")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: awoooi owns Ctrl-C for every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def ensure_search_attributes(client: Client) -> None:
    """Register awoooi's search attributes where the server lets us (dev server, self-hosted)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError:
        existing = set()  # the time-skipping test server cannot list, but can add
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in sa.ALL if key.name not in existing
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
        log.info("search attributes registered", names=sorted(missing))
    except RPCError as exc:  # Temporal Cloud and locked-down servers refuse this
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            log.warning("could not register search attributes; register them with `temporal operator "
                        "search-attribute create`", error=exc.status.name)


async def _until_reachable(what: str, address: str, check: str, attempt, stop: asyncio.Event):  # noqa: ANN001, ANN202
    """Call ``attempt`` until it works: starting before Temporal or Valkey is a normal deployment
    order, so it is one line per try naming the address and what to check, never a traceback."""
    delay = 1.0
    while True:
        try:
            return await attempt()
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried the same way
            log.warning(f"cannot reach {what} yet; retrying", address=address, check=check,
                        error=type(exc).__name__, retry_in=delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return None  # asked to stop while waiting
        except TimeoutError:
            delay = min(delay * 2, 30.0)


async def _probe_schedule(client: Client, settings: Settings) -> None:
    """The alert-chain probe's schedule, brought up to date on every worker start."""
    from starter.schedule import ensure_probe_schedule

    try:
        await ensure_probe_schedule(client, settings)
    except RPCError as exc:  # a locked-down namespace: the worker still serves alerts
        log.warning("could not create the probe schedule; run `awoooi schedule`", error=exc.status.name)


async def serve(settings: Settings, *, worker: bool, api: bool, stop: asyncio.Event,
                metrics: Metrics | None = None, on_ready: Callable[[], None] | None = None) -> None:
    metrics = metrics or Metrics(CollectorRegistry())
    runtime = None
    sdk: SdkMetrics | None = None
    if worker:
        sdk = SdkMetrics(settings.worker_sdk_metrics_buffer, settings.worker_sdk_metrics_drain_seconds)
        runtime = sdk.runtime
        metrics.registry.register(sdk.collector)
    client = await _until_reachable("Temporal", settings.temporal_address,
                                    "AWOOOI_TEMPORAL_ADDRESS, and that the Temporal frontend is up",
                                    lambda: connect_temporal(settings, runtime), stop)
    if client is None:
        return
    await ensure_search_attributes(client)
    redis = connect_redis(settings)
    if await _until_reachable("Valkey", _masked(settings.redis_url), "AWOOOI_REDIS_URL, and that Valkey is up",
                              redis.ping, stop) is None:
        await redis.aclose()
        return
    http = http_client()
    tasks: list[asyncio.Task[None]] = []
    server: _Server | None = None
    temporal_worker = None
    try:
        if worker and not api and settings.worker_metrics_port:
            # A worker on its own has no API to serve its counters (cards, comments): serve them here.
            start_http_server(settings.worker_metrics_port, addr=settings.api_host, registry=metrics.registry)
            log.info("worker metrics", url=f"http://{settings.api_host}:{settings.worker_metrics_port}/metrics")
        if worker:
            refresh_workflow_bytecode()
            temporal_worker = build_worker(client, settings, build_activities(settings, redis, http, metrics, client))
            tasks.append(asyncio.create_task(temporal_worker.run(), name="worker"))
            sdk.start()  # drains the SDK's metrics buffer on schedule, scraped or not
            await _probe_schedule(client, settings)
            log.info("worker started", task_queue=settings.task_queue, namespace=settings.temporal_namespace)
        if api:
            deps = build_api_deps(settings, client, redis, http, metrics)
            await deps.intake.start()
            tasks.append(asyncio.create_task(spool_drainer(deps).run(stop), name="spool-drainer"))
            config = uvicorn.Config(create_app(deps), host=settings.api_host, port=settings.api_port,
                                    log_config=None, access_log=False, lifespan="off",
                                    timeout_keep_alive=settings.api_keep_alive_seconds)
            server = _Server(config)
            tasks.append(asyncio.create_task(_listen(server, settings), name="api"))
            log.info("api listening", url=f"http://{settings.api_host}:{settings.api_port}")
        if server is not None:
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
        if temporal_worker is not None:
            await temporal_worker.shutdown()
        if sdk is not None:
            sdk.close()  # stops the drains, after a last one: what the shutdown recorded
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()
        await redis.aclose()
