"""Run the worker until asked to stop: `awoooi worker`, and the worker half of `awoooi dev`.

Builds the worker's object graph once from Settings (worker/wiring.py), registers the search
attributes and the probe's schedule, drains the SDK's metrics on its own schedule, and on SIGTERM
stops polling and lets in-flight activities finish (AWOOOI_WORKER_SHUTDOWN_GRACE_SECONDS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.connections import connect_redis, connect_temporal, http_client, masked, until_reachable
from core import search_attributes as sa
from core.metrics import Metrics
from core.settings import Settings
from worker.bytecode import refresh_workflow_bytecode
from worker.schedule import ensure_probe_schedule
from worker.sdk_metrics import SdkMetrics
from worker.wiring import build_activities, build_worker

log = structlog.get_logger(__name__)


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
    try:
        await ensure_probe_schedule(client, settings)
    except RPCError as exc:  # a locked-down namespace: the worker still serves alerts
        log.warning("could not create the probe schedule; run `awoooi schedule`", error=exc.status.name)


async def run_worker(settings: Settings, *, stop: asyncio.Event, metrics: Metrics | None = None,
                     on_ready: Callable[[], None] | None = None, serve_metrics: bool = True) -> None:
    """``serve_metrics``: serve /metrics on AWOOOI_WORKER_METRICS_PORT (off when an API in the same
    process serves the same registry, as under `awoooi dev`)."""
    metrics = metrics or Metrics(CollectorRegistry())
    sdk = SdkMetrics(settings.worker_sdk_metrics_buffer, settings.worker_sdk_metrics_drain_seconds)
    metrics.registry.register(sdk.collector)
    client = await until_reachable("Temporal", settings.temporal_address,
                                   "AWOOOI_TEMPORAL_ADDRESS, and that the Temporal frontend is up",
                                   lambda: connect_temporal(settings, sdk.runtime), stop)
    if client is None:
        return
    await ensure_search_attributes(client)
    redis = connect_redis(settings)
    if await until_reachable("Valkey", masked(settings.redis_url), "AWOOOI_REDIS_URL, and that Valkey is up",
                             redis.ping, stop) is None:
        await redis.aclose()
        return
    http = http_client()
    temporal_worker = None
    running: asyncio.Task[None] | None = None
    try:
        if serve_metrics and settings.worker_metrics_port:
            # A worker on its own has no API to serve its counters (cards, comments): serve them here.
            start_http_server(settings.worker_metrics_port, addr=settings.api_host, registry=metrics.registry)
            log.info("worker metrics", url=f"http://{settings.api_host}:{settings.worker_metrics_port}/metrics")
        refresh_workflow_bytecode()
        temporal_worker = build_worker(client, settings, build_activities(settings, redis, http, metrics, client))
        running = asyncio.create_task(temporal_worker.run(), name="worker")
        sdk.start()  # drains the SDK's metrics buffer on schedule, scraped or not
        await _probe_schedule(client, settings)
        log.info("worker started", task_queue=settings.task_queue, namespace=settings.temporal_namespace)
        if on_ready is not None and not running.done():
            on_ready()
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([running, stopper], return_when=asyncio.FIRST_COMPLETED)
        if running in done and running.exception() is not None:
            raise running.exception()  # type: ignore[misc]
        stopper.cancel()
    finally:
        stop.set()
        if temporal_worker is not None:
            await temporal_worker.shutdown()
        sdk.close()  # stops the drains, after a last one: what the shutdown recorded
        if running is not None:
            await asyncio.gather(running, return_exceptions=True)
        await http.aclose()
        await redis.aclose()
