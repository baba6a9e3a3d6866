"""`awoooi dev`: the whole product on one machine, one command, no Docker.

Starts what is not configured (the Temporal dev server with its Web UI, Valkey with AOF), with
data under AWOOOI_DATA_DIR so a restart keeps history; then the worker and the API in this
process. Ctrl-C stops the API, the worker, then the servers, in that order.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from urllib.parse import quote

from prometheus_client import CollectorRegistry

from core.metrics import Metrics
from core.settings import Settings
from starter.embedded import EmbeddedError, Process, temporal_dev_server, valkey_server
from starter.service import ApiCannotListen, run_api

# The Web UI's list as a person wants it at first: open incidents, no probe runs (docs/adr/0019).
OPEN_INCIDENTS_QUERY = 'WorkflowType="Incident" AND WorkflowId STARTS_WITH "incident-" AND ExecutionStatus="Running"'


async def worker_and_api(settings: Settings, *, up: Callable[[], None] | None = None,
                         stop: asyncio.Event | None = None) -> None:
    """The worker and the API in this process, on one metrics registry (the API's /metrics shows
    the worker's counters too). Ctrl-C (or ``stop``, or either part failing) stops the API first,
    then the worker drains its in-flight activities. ``up`` once both are ready."""
    from worker.service import run_worker

    api_stop, worker_stop = asyncio.Event(), asyncio.Event()
    if stop is None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, api_stop.set)
    else:
        asyncio.ensure_future(_relay(stop, api_stop))
    metrics = Metrics(CollectorRegistry())
    ready: set[str] = set()

    def part_ready(part: str) -> None:
        ready.add(part)
        if ready == {"worker", "api"} and up is not None:
            up()

    worker = asyncio.create_task(run_worker(settings, stop=worker_stop, metrics=metrics, serve_metrics=False,
                                            on_ready=lambda: part_ready("worker")), name="worker")
    # "up" only once the worker polls and the API listens: a port taken fails before it.
    api = asyncio.create_task(run_api(settings, stop=api_stop, metrics=metrics, on_ready=lambda: part_ready("api")),
                              name="api")
    await asyncio.wait([worker, api], return_when=asyncio.FIRST_COMPLETED)
    api_stop.set()
    api_result = (await asyncio.gather(api, return_exceptions=True))[0]
    worker_stop.set()
    worker_result = (await asyncio.gather(worker, return_exceptions=True))[0]
    for result in (api_result, worker_result):
        if isinstance(result, BaseException):
            raise result


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


def run_dev(settings: Settings) -> int:
    children: list[Process] = []
    urls: list[str] = []
    try:
        if not settings.temporal_address:
            temporal = temporal_dev_server(
                settings.data_dir / "temporal", port=settings.dev_temporal_port, ui_port=settings.dev_temporal_ui_port
            )
            temporal.start()
            children.append(temporal)
            settings = settings.model_copy(update={"temporal_address": f"127.0.0.1:{settings.dev_temporal_port}"})
            ui = f"http://127.0.0.1:{settings.dev_temporal_ui_port}"
            urls.append(f"Temporal Web UI   {ui}")
            urls.append(f"Open incidents    {ui}/namespaces/{settings.temporal_namespace}/workflows?query="
                        f"{quote(OPEN_INCIDENTS_QUERY)}")
        urls.append(f"Temporal          {settings.temporal_address} (namespace {settings.temporal_namespace})")
        if not settings.redis_url:
            valkey = valkey_server(settings.data_dir, port=settings.dev_valkey_port)
            valkey.start()
            children.append(valkey)
            settings = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{settings.dev_valkey_port}/0"})
        urls.append(f"Valkey            {settings.redis_url}")
        base = f"http://{settings.api_host}:{settings.api_port}"
        urls += [
            f"Webhooks          {base}/api/v1/webhooks/{{alertmanager,signoz,sentry}}",
            f"Health            {base}/api/v1/health",
            f"Metrics           {base}/metrics",
        ]

        def up() -> None:
            print("awoooi dev is up:\n  " + "\n  ".join(urls) + "\nPress Ctrl-C to stop.", file=sys.stderr, flush=True)

        asyncio.run(worker_and_api(settings, up=up))
    except (EmbeddedError, ApiCannotListen) as exc:
        print(f"awoooi dev: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
        if children:
            print("awoooi dev stopped.", file=sys.stderr)
    return 0
