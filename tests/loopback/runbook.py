"""A loopback runbook receiver (what a Rundeck/StackStorm/AWX webhook trigger does with awoooi's POST).

It verifies the request the way a careful receiver must: the HMAC signature over
``f"{timestamp}." + raw body``, a fresh timestamp (replay window), the idempotency headers matching the
body's ``repair_id``, and an optional ``?token=`` in the URL (how several runbook tools authenticate
webhooks). It starts a "job" once per idempotency key, records every request, and can answer scripted
statuses (including bodies that echo secrets, to prove the executor redacts them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.repair import RepairRequest
from tests.loopback import LoopbackServer, Response, json_response


@dataclass(frozen=True)
class RunbookCall:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes


class RunbookLoopback(LoopbackServer):
    """``runs`` maps repair_id -> how many jobs were started for it (1 however often it is retried)."""

    def __init__(
        self, secret: str | None = "runbook-hmac-secret-42", *, path: str = "/hooks/awoooi",
        token: str | None = None, tolerance: int = 300,
    ) -> None:
        super().__init__()
        self.secret = secret
        self.path = path
        self.token = token
        self.tolerance = tolerance
        self.calls: list[RunbookCall] = []
        self.runs: dict[str, int] = {}
        self._answers: deque[tuple[int, str, dict[str, str]]] = deque()

    def url(self, *, userinfo: str = "") -> str:
        """The runbook URL as an operator would configure it, credentials included."""
        base = self.base_url.replace("http://", f"http://{userinfo}@" if userinfo else "http://")
        return f"{base}{self.path}" + (f"?token={self.token}" if self.token else "")

    def answer_next(self, status: int, body: str = "", *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` verified requests with ``status`` and a text body; no job starts."""
        with self._lock:
            self._answers.extend([(status, body, dict(headers or {}))] * times)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(path)
        with self._lock:
            payload = self._verify(method, parts.path, parts.query, headers, body)
            if isinstance(payload, tuple):
                return payload
            self.calls.append(RunbookCall(parts.path, headers, payload, body))
            if self._answers:
                status, text, extra = self._answers.popleft()
                return status, {"Content-Type": "text/plain; charset=utf-8", **extra}, text.encode()
            repair_id = payload["repair_id"]
            if repair_id in self.runs:
                return json_response(200, {"status": "already running", "repair_id": repair_id})
            self.runs[repair_id] = 1
            return json_response(202, {"status": "accepted", "job": len(self.runs), "repair_id": repair_id})

    def _verify(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> dict[str, Any] | Response:
        """The decoded body when the request is acceptable, else the answer to send."""
        if method != "POST" or path != self.path:
            self.violation(f"unexpected {method} {path}")
            return json_response(404, {"error": "no such hook"})
        if self.token is not None and parse_qs(query).get("token", [""])[-1] != self.token:
            return json_response(403, {"error": "bad hook token"})
        if not headers.get("content-type", "").startswith("application/json"):
            self.violation("body must be sent as application/json")
            return json_response(415, {"error": "json only"})
        timestamp = headers.get("x-awoooi-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.tolerance:
            self.violation(f"X-Awoooi-Timestamp missing or stale: {timestamp!r}")
            return json_response(401, {"error": "stale or missing timestamp"})
        signature = headers.get("x-awoooi-signature")
        if self.secret is None:
            if signature is not None:
                self.violation("signature sent although no secret is configured")
        else:
            expected = "sha256=" + hmac.new(
                self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
            ).hexdigest()
            if signature is None or not hmac.compare_digest(signature, expected):
                self.violation(f"bad or missing X-Awoooi-Signature: {signature!r}")
                return json_response(401, {"error": "bad signature"})
        try:
            payload = json.loads(body)
            RepairRequest.model_validate(payload)
        except ValueError as exc:
            self.violation(f"body is not a RepairRequest: {exc}")
            return json_response(400, {"error": "bad body"})
        repair_id = payload["repair_id"]
        if headers.get("x-awoooi-repair-id") != repair_id or headers.get("idempotency-key") != repair_id:
            self.violation("X-Awoooi-Repair-Id and Idempotency-Key must both equal the body's repair_id")
        return payload
