"""`awoooi dev`: the whole product on one machine, one command, no Docker.

Starts what is not configured (the Temporal dev server with its Web UI, Valkey with AOF), with
data under AWOOOI_DATA_DIR so a restart keeps history; then the worker and the API in this
process. Ctrl-C stops the API, the worker, then the servers, in that order.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from core.settings import Settings
from starter.embedded import EmbeddedError, Process, temporal_dev_server, valkey_server

def run_dev(settings: Settings) -> int:
    from worker.service import ApiCannotListen, serve

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
            urls.append(f"Temporal Web UI   http://127.0.0.1:{settings.dev_temporal_ui_port}")
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

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            # "up" only once the worker polls and the API listens: a port taken fails before it.
            await serve(settings, worker=True, api=True, stop=stop, on_ready=up)

        asyncio.run(main())
    except (EmbeddedError, ApiCannotListen) as exc:
        print(f"awoooi dev: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
        if children:
            print("awoooi dev stopped.", file=sys.stderr)
    return 0
