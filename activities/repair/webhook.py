"""The webhook executor: hands the repair to a runbook service (Rundeck, StackStorm, AWX...) over HTTP.

For teams whose changes must go through their own automation (approvals, audit, change windows), awoooi
decides and the runbook acts. The request is the :class:`~core.repair.RepairRequest` as JSON, POSTed
with:

- ``X-Awoooi-Timestamp``: epoch seconds, so the receiver can refuse replays of an old request;
- ``X-Awoooi-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`` when a secret is
  set: the receiver recomputes it over the raw body it got (Stripe/Slack style), proving the sender
  and the timestamp;
- ``X-Awoooi-Repair-Id`` and ``Idempotency-Key``: the ``repair_id``, identical on every retry, so the
  receiver runs the job once however many times the activity retries.

Answers: 2xx -> ``executed``; 408, 429 and 5xx -> ``UpstreamError(retryable=True)``; any other status
-> ``failed`` (the receiver refused; the same request would be refused again). Transport errors are
retryable.

Runbook URLs often carry credentials (``https://user:pass@awx/...``, ``?token=...``), and httpx puts
the URL in its INFO log line. So messages name the host only, and a log filter rewrites the URL in
httpx's own records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import unquote

import httpx

from activities.redaction import Redactions, install_redaction, redact
from activities.failures import retry_after_seconds
from core.errors import RateLimited, UpstreamError
from core.repair import RepairRequest, RepairResult, RepairStatus

__all__ = ["WebhookExecutor", "sign"]

_RETRYABLE_4XX = frozenset({408, 429})
_SNIPPET = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Awoooi-Signature`` value; a receiver recomputes it to verify a request."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookExecutor:
    """Implements ``core.ports.RepairExecutor`` by POSTing signed requests to a runbook URL."""

    name = "webhook"
    dry_run = False

    def __init__(self, http: httpx.AsyncClient, url: str, secret: str | None) -> None:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            # `from None`: the library's message would quote the URL, credentials included.
            raise ValueError("the repair webhook URL is not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("the repair webhook URL must be an absolute http(s) URL")
        self._http = http
        self._url = parsed
        self._secret = secret or None
        self._host = parsed.host
        # What must not appear in text: the URL as given and as httpx renders it (shown as scheme://host),
        # then its userinfo, password, query and path (Slack-style hook URLs keep the secret in the
        # path), raw and percent-decoded. Longest first, so a whole URL is replaced before its parts.
        safe_url = f"{parsed.scheme}://{self._host}/<redacted>"
        raw = (parsed.userinfo.decode(), parsed.password or "", parsed.query.decode(), parsed.raw_path.decode())
        parts = ({*raw} | {unquote(part) for part in raw}) - {"", "/"}
        self._redactions: Redactions = (
            *((form, safe_url) for form in sorted({url, str(parsed)}, key=len, reverse=True)),
            *((part, "<redacted>") for part in sorted(parts, key=len, reverse=True)),
        )
        install_redaction(self._redactions)

    def __repr__(self) -> str:
        return f"WebhookExecutor(host={self._host!r}, signed={self._secret is not None})"

    def check(self, request: RepairRequest) -> str | None:
        """The runbook decides what it can do; every action may be sent."""
        return None

    async def execute(self, request: RepairRequest) -> RepairResult:
        body = json.dumps(request.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Awoooi-Timestamp": timestamp,
            "X-Awoooi-Repair-Id": request.repair_id,
            "Idempotency-Key": request.repair_id,
        }
        if self._secret is not None:
            headers["X-Awoooi-Signature"] = sign(self._secret, timestamp, body)
        started = time.monotonic()
        what = f"POST runbook at {self._host}"
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.UnsupportedProtocol as exc:  # a TransportError, but no retry can fix it
            raise UpstreamError(f"{what}: unsupported protocol", retryable=False) from exc
        except httpx.TransportError as exc:
            raise UpstreamError(f"{what}: {type(exc).__name__}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{what}: {type(exc).__name__}", retryable=False) from exc
        status = response.status_code
        text = f"{what}: HTTP {status}: {self._snippet(response)}"
        if status == 429:
            raise RateLimited(text, retry_after=retry_after_seconds(response.headers.get("retry-after")))
        if status >= 500 or status in _RETRYABLE_4XX:
            raise UpstreamError(text, retryable=True, status_code=status)
        accepted = 200 <= status < 300
        return RepairResult(
            repair_id=request.repair_id,
            action=request.action,
            executor=self.name,
            # 3xx lands here too: httpx does not follow redirects, so the URL must be the final one.
            status=RepairStatus.EXECUTED if accepted else RepairStatus.FAILED,
            detail=text if accepted else f"{text} (refused)",
            operations=[f"POST runbook {self._host} action={request.action.value} repair_id={request.repair_id}"]
            if accepted else [],
            execution_seconds=time.monotonic() - started,
        )

    def _snippet(self, response: httpx.Response) -> str:
        """The first 200 characters of the answer, without the URL's credentials or the secret."""
        try:
            text = response.text
        except (UnicodeDecodeError, LookupError):
            text = "<undecodable answer>"
        text = " ".join(text.split())
        text = redact(text, self._redactions)
        if self._secret:
            text = text.replace(self._secret, "<redacted>")
        return text[:_SNIPPET] or "<empty answer>"
