"""awoooi as production runs it, for fault tests and benches: separate processes on free ports.

Temporal (the dev server, SQLite on disk), Valkey (AOF on disk), `awoooi worker` and `awoooi api`
(one of each by default, more for scale-out: ``Stack(..., apis=2, workers=2)`` or ``add_api()`` /
``add_worker()`` on a running stack), each a child process this test started, stopped or killed by
its own PID, restarted on the same port with the same data. Telegram and Sentry are the loopback
servers of the test process, so the cards and comments that really went out can be counted there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from starter.embedded import Process, free_port, temporal_dev_server, valkey_server
from tests.harness import CHAT_ID
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_TOKEN = "stack-webhook-token"
SENTRY_SECRET = "stack-sentry-client-secret"
# Every digest message has it in its title (activities/chat/telegram/render_digest.py); no card does.
DIGEST_MARK = "🌩"
_INCIDENT = re.compile(r"<code>((?:alertmanager|signoz|sentry)-[^<]+)</code>")


@dataclass
class Stack:
    tmp: Path
    telegram: TelegramLoopback
    sentry: SentryLoopback
    extra_env: dict[str, str] = field(default_factory=dict)
    apis: int = 1
    workers: int = 1
    task_queue: str = "faults"

    def __post_init__(self) -> None:
        self.temporal_port, self.valkey_port = free_port(), free_port()
        self.api_port, self.worker_port = free_port(), free_port()
        self.temporal = temporal_dev_server(self.tmp / "temporal", port=self.temporal_port, ui_port=None)
        self.valkey = valkey_server(self.tmp, port=self.valkey_port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
        settings = {
            "temporal_address": f"127.0.0.1:{self.temporal_port}",
            "redis_url": self.redis_url,
            "task_queue": self.task_queue,
            "api_port": self.api_port,
            "worker_metrics_port": self.worker_port,
            "data_dir": self.tmp / "data",
            "webhook_token": WEBHOOK_TOKEN,
            "sentry_client_secret": SENTRY_SECRET,
            "telegram_bot_token": self.telegram.token,
            "telegram_chat_id": CHAT_ID,
            "telegram_api_base": self.telegram.base_url,
            "sentry_api_url": self.sentry.base_url,
            "sentry_api_token": self.sentry.token,
            "sentry_org": self.sentry.org,
            "resolve_grace_seconds": 0,
            # Hundreds of cards to one loopback chat: Telegram's pacing is tested on its own.
            "telegram_chat_interval_seconds": 0,
            "telegram_group_per_minute": 10_000,
            "telegram_global_per_second": 10_000,
            "digest_threshold": 10_000,
            # Fault tests wait for final counts on cards: no per-minute card budget (the bench sets it).
            "card_budget_calls": 0,
            "log_format": "json",
        }
        env.update({f"AWOOOI_{k.upper()}": str(v) for k, v in settings.items()})
        env.update(self.extra_env)
        self.env = env
        self.worker = self._child("worker", self.worker_port)
        self.api = self._child("api", self.api_port)
        # Every worker and API process, first ones included; the extra ones on their own ports.
        self.worker_processes = [self.worker, *(self._child("worker", free_port(), n)
                                               for n in range(2, self.workers + 1))]
        self.api_processes = [self.api, *(self._child("api", free_port(), n) for n in range(2, self.apis + 1))]

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.valkey_port}/0"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def base_urls(self) -> list[str]:
        """Every API process's address, the first one first."""
        return [f"http://127.0.0.1:{api.port}" for api in self.api_processes]

    def _child(self, command: str, port: int, number: int = 1) -> Process:
        env = dict(self.env)
        env["AWOOOI_API_PORT" if command == "api" else "AWOOOI_WORKER_METRICS_PORT"] = str(port)
        name = command if number == 1 else f"{command}-{number}"
        return Process(name, [sys.executable, "-m", "starter.cli", command], port, self.tmp / f"{name}.log", env=env)

    def add_worker(self) -> Process:
        """One more `awoooi worker` on the same Temporal, Valkey and task queue, started."""
        worker = self._child("worker", free_port(), len(self.worker_processes) + 1)
        self.worker_processes.append(worker)
        worker.start(timeout=90)
        return worker

    def add_api(self) -> Process:
        """One more `awoooi api` on the same Temporal and Valkey, started; its address is base_urls[-1]."""
        api = self._child("api", free_port(), len(self.api_processes) + 1)
        self.api_processes.append(api)
        api.start(timeout=90)
        return api

    def start(self) -> None:
        self.valkey.start()
        self.temporal.start()
        for worker in self.worker_processes:
            worker.start(timeout=90)
        for api in self.api_processes:
            api.start(timeout=90)

    def stop(self) -> None:
        for process in (*self.api_processes, *self.worker_processes, self.temporal, self.valkey):
            process.stop()

    def cards_per_incident(self) -> Counter[str]:
        """How many cards (sendMessage calls) each incident got, read off the cards' text."""
        found: Counter[str] = Counter()
        for sent in list(self.telegram.sent):
            if DIGEST_MARK in sent.get("text", ""):
                continue  # a storm digest lists many incidents; it is no incident's card
            match = _INCIDENT.search(sent.get("text", ""))
            if match:
                found[match.group(1)] += 1
        return found


def kill9(process: Process) -> None:
    """SIGKILL by the PID we started: no cleanup, no graceful anything (a crash, an OOM kill)."""
    proc, process.proc = process.proc, None
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def terminate(process: Process, timeout: float = 40.0) -> int | None:
    """SIGTERM by PID and wait, as Kubernetes does on a rollout; the exit code."""
    proc, process.proc = process.proc, None
    if proc is None:
        return None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return None
