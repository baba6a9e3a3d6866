"""Run awoooi's long-lived parts (worker, webhook API, or both) until asked to stop.

Used by `awoooi worker`, `awoooi api` and `awoooi dev`. Builds the object graph once from
Settings (worker/wiring.py), then waits on a stop event so Ctrl-C and SIGTERM shut down in order:
the API stops taking deliveries first, then the worker finishes its in-flight activities.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import structlog
import uvicorn
from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core import search_attributes as sa
from core.metrics import Metrics
from core.settings import Settings
from starter.api import create_app
from worker.sdk_metrics import SdkMetricsCollector, buffered_runtime
from worker.wiring import build_activities, build_api_deps, build_worker, connect_redis, connect_temporal, http_client

log = structlog.get_logger(__name__)


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


async def _probe_schedule(client: Client, settings: Settings) -> None:
    """The alert-chain probe's schedule, brought up to date on every worker start."""
    from starter.schedule import ensure_probe_schedule

    try:
        await ensure_probe_schedule(client, settings)
    except RPCError as exc:  # a locked-down namespace: the worker still serves alerts
        log.warning("could not create the probe schedule; run `awoooi schedule`", error=exc.status.name)


async def serve(settings: Settings, *, worker: bool, api: bool, stop: asyncio.Event,
                metrics: Metrics | None = None) -> None:
    metrics = metrics or Metrics(CollectorRegistry())
    runtime = None
    if worker:
        runtime, buffer = buffered_runtime()
        metrics.registry.register(SdkMetricsCollector(buffer))
    client = await connect_temporal(settings, runtime)
    await ensure_search_attributes(client)
    redis = connect_redis(settings)
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
            temporal_worker = build_worker(client, settings, build_activities(settings, redis, http, metrics, client))
            tasks.append(asyncio.create_task(temporal_worker.run(), name="worker"))
            await _probe_schedule(client, settings)
            log.info("worker started", task_queue=settings.task_queue, namespace=settings.temporal_namespace)
        if api:
            deps = build_api_deps(settings, client, redis, http, metrics)
            config = uvicorn.Config(create_app(deps), host=settings.api_host, port=settings.api_port,
                                    log_config=None, access_log=False, lifespan="off")
            server = _Server(config)
            tasks.append(asyncio.create_task(server.serve(), name="api"))
            log.info("api listening", url=f"http://{settings.api_host}:{settings.api_port}")
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        stopper.cancel()
    finally:
        if server is not None:
            server.should_exit = True
        if temporal_worker is not None:
            await temporal_worker.shutdown()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()
        await redis.aclose()
