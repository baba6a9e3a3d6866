"""Real HTTP stand-ins for Telegram and Sentry, used by unit and integration tests.

Each loopback is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 with an OS-chosen port, running in a
daemon thread. It checks every request against the real API contract (docs in
/work/shared/PROTOCOLS.md), records it, and answers like the real service would. Because the
server speaks real HTTP, the code under test runs unchanged: no mocks, no monkeypatching.

``LoopbackServer`` holds the plumbing shared by both; the concrete servers live in
``tests.loopback.telegram`` and ``tests.loopback.sentry`` (also re-exported here).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Response = tuple[int, dict[str, str], bytes]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """Encode ``body`` as the JSON response both real APIs send."""
    merged = {"Content-Type": "application/json"}
    merged.update(headers or {})
    return status, merged, json.dumps(body, ensure_ascii=False).encode()


def decode_json(body: bytes) -> Any:
    """The JSON of a request body, or None when it is empty or not JSON (the caller decides
    whether that is a contract violation)."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class LoopbackServer:
    """Start/stop, request dispatch and waiting; subclasses implement :meth:`handle`.

    ``handle`` runs on the server's request threads; state is guarded by ``self._lock`` so tests
    (and Temporal workers in other threads) can read the recorded lists at any time.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.violations: list[str] = []

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        raise NotImplementedError

    def violation(self, message: str) -> None:
        """Record a contract problem; tests assert ``violations`` stays empty."""
        with self._lock:
            self.violations.append(message)

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keep-alive like the real APIs; every answer carries Content-Length.
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, out_headers, payload = owner.handle(self.command, self.path, headers, body)
                except Exception as exc:  # a loopback bug must show up as a test failure, not a hang
                    owner.violation(f"loopback crashed: {type(exc).__name__}: {exc}")
                    status, out_headers, payload = json_response(500, {"detail": "loopback error"})
                try:
                    self.send_response(status)
                    for name, value in out_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a stalled answer): fine

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                """Silence per-request stderr lines; the recorded calls are the log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Re-exported for convenience; imported last because both modules import LoopbackServer from here.
from tests.loopback.sentry import SentryLoopback  # noqa: E402
from tests.loopback.telegram import TelegramLoopback, parse_telegram_html  # noqa: E402

__all__ = ["LoopbackServer", "SentryLoopback", "TelegramLoopback", "json_response", "parse_telegram_html"]
