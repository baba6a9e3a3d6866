"""A Valkey of the test's own, to kill -9 and restart on the same port with the same AOF dir.

The session Valkey in conftest.py is shared by every test, so a test that breaks Valkey starts its
own with ``starter.embedded.valkey_server`` and stops only that process, by its PID.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from starter.embedded import Process, free_port, valkey_server


class OwnValkey:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: Process | None = None

    def start(self) -> None:
        self._server = valkey_server(self.data_dir, port=self.port)
        self._server.start(timeout=30)

    def kill(self) -> None:
        """SIGKILL by PID and reap it: no shutdown save, only what AOF already has."""
        server, self._server = self._server, None
        if server is not None and server.proc is not None:
            os.kill(server.proc.pid, signal.SIGKILL)
            server.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
