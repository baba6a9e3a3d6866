"""The alert chain's checks, one method per link: the one implementation behind both the scheduled
AlertChainProbe's activities and `awoooi probe` (docs/adr/0009-alert-chain-probe.md).

Each check sends what a real sender would (the real webhook URL, the real credentials) and returns
a LinkResult instead of raising: a broken link is the answer, not an error. Error texts are built
here from status codes and field names only, never from library exceptions, so no token or signed
URL reaches the report, the chat or a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.errors import UpstreamError
from core.incident.state import IncidentOutcome
from core.ports import ChatChannel
from core.probe import PROBE_ID_PREFIX, PROBE_LABEL, LinkResult

# The incident workflow's notify step: post_card, or place_card since digest-v1 (a probe card is never digested).
NOTIFY_ACTIVITIES = frozenset({"post_card", "place_card"})
_POLL_SECONDS = 0.25


class LinkBroken(Exception):
    """A check's own failure, with a message safe to show anywhere."""


@dataclass(frozen=True)
class ChainConfig:
    api_base: str
    webhook_token: str | None
    sentry_client_secret: str | None
    chat_id: str | None
    probe_chat_id: str | None
    sentry_org: str | None


class SentryReader:
    """The one read call of the Sentry API the probe makes: does the token still open the org?"""

    def __init__(self, http: httpx.AsyncClient, api_url: str, token: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._token = token

    async def organization(self, org: str) -> None:
        url = f"{self._api_url}/api/0/organizations/{org}/"
        try:
            response = await self._http.get(url, headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as exc:
            raise UpstreamError(f"sentry organization: {type(exc).__name__}", retryable=True) from exc
        if response.status_code != 200:
            raise UpstreamError(f"sentry organization {org}: HTTP {response.status_code}",
                                retryable=response.status_code >= 500, status_code=response.status_code)


class ChainChecks:
    def __init__(self, http: httpx.AsyncClient, temporal: Client | None, config: ChainConfig,
                 chat: ChatChannel | None, sentry: SentryReader | None) -> None:
        self._http = http
        self._temporal = temporal
        self._config = config
        self._chat = chat
        self._sentry = sentry

    # -- the links ----------------------------------------------------------------------------

    async def api(self, deadline: float) -> LinkResult:
        """The API answers, Valkey answers, and a worker polls the task queue (its /api/v1/health)."""
        async def check() -> None:
            url = f"{self._config.api_base}/api/v1/health"
            try:
                try:
                    response = await self._http.get(url, timeout=deadline)
                except httpx.RemoteProtocolError:
                    # A pooled connection the API closed as idle just as this GET went down it: the
                    # API did not answer because it never read the request. A GET may go again, on a
                    # new connection; a second refusal is a broken link.
                    response = await self._http.get(url, timeout=deadline)
            except httpx.HTTPError as exc:
                raise LinkBroken(f"API unreachable at {self._config.api_base}: {type(exc).__name__}") from exc
            body = _json(response)
            down = body.get("down") if isinstance(body.get("down"), list) else None
            if response.status_code != 200 or down:
                raise LinkBroken(f"health HTTP {response.status_code}, down: {', '.join(map(str, down or [])) or '?'}")
            if body.get("worker") != "ok":
                raise LinkBroken("health does not report a worker polling the task queue")
        return await _timed("api", check(), deadline)

    async def alertmanager(self, run_id: str, deadline: float) -> LinkResult:
        async def check() -> None:
            now = _now()
            fingerprint = f"{PROBE_ID_PREFIX}{run_id}"
            firing = _alertmanager_body(run_id, fingerprint, "firing", now, None)
            workflow_id = await self._post_alert("alertmanager", json.dumps(firing).encode(), self._token_headers())
            try:
                await self._until_notified(workflow_id)
                resolved = _alertmanager_body(run_id, fingerprint, "resolved", now, _now())
                await self._post_alert("alertmanager", json.dumps(resolved).encode(), self._token_headers())
                await self._until_closed(workflow_id)
            except BaseException:
                await self._cleanup(workflow_id)
                raise
        return await _timed("alertmanager", check(), deadline)

    async def sentry(self, run_id: str, deadline: float) -> LinkResult:
        async def check() -> None:
            issue_id = f"{PROBE_ID_PREFIX}{run_id}"
            event = json.dumps(_sentry_event(run_id, issue_id)).encode()
            workflow_id = await self._post_alert("sentry", event, self._sentry_headers(event, "event_alert", run_id))
            try:
                await self._until_notified(workflow_id)
                resolved = json.dumps(_sentry_resolved(issue_id)).encode()
                await self._post_alert("sentry", resolved, self._sentry_headers(resolved, "issue", f"{run_id}-r"))
                await self._until_closed(workflow_id)
            except BaseException:
                await self._cleanup(workflow_id)
                raise
        return await _timed("sentry", check(), deadline)

    async def telegram(self, deadline: float) -> LinkResult:
        """The chat answers with the configured credentials, and awoooi may post in the chats it
        uses (asked without sending anything)."""
        if self._chat is None:
            return LinkResult(link="telegram", ok=True, skipped=True, error="chat not configured")
        chat = self._chat

        async def check() -> None:
            try:
                await chat.check([c for c in dict.fromkeys((self._config.chat_id, self._config.probe_chat_id)) if c])
            except UpstreamError as exc:
                raise LinkBroken(str(exc)) from exc
        return await _timed("telegram", check(), deadline)

    async def sentry_api(self, deadline: float) -> LinkResult:
        if self._sentry is None or not self._config.sentry_org:
            return LinkResult(link="sentry_api", ok=True, skipped=True, error="Sentry API not configured")
        sentry, org = self._sentry, self._config.sentry_org

        async def check() -> None:
            try:
                await sentry.organization(org)
            except UpstreamError as exc:
                raise LinkBroken(str(exc)) from exc
        return await _timed("sentry_api", check(), deadline)

    # -- helpers ------------------------------------------------------------------------------

    def _token_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._config.webhook_token:
            headers["Authorization"] = f"Bearer {self._config.webhook_token}"
        return headers

    def _sentry_headers(self, body: bytes, resource: str, request_id: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": resource,
                   "Sentry-Hook-Timestamp": str(int(time.time())), "Request-ID": request_id}
        if self._config.sentry_client_secret:
            headers["Sentry-Hook-Signature"] = hmac.new(
                self._config.sentry_client_secret.encode(), body, hashlib.sha256).hexdigest()
        elif self._config.webhook_token:
            headers["Authorization"] = f"Bearer {self._config.webhook_token}"
        return headers

    async def _post_alert(self, source: str, body: bytes, headers: dict[str, str]) -> str:
        url = f"{self._config.api_base}/api/v1/webhooks/{source}"
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise LinkBroken(f"{source} webhook unreachable: {type(exc).__name__}") from exc
        answer = _json(response)
        if response.status_code != 200:
            raise LinkBroken(f"{source} webhook answered HTTP {response.status_code}: {answer.get('detail', '')}")
        alerts = answer.get("alerts") or []
        if len(alerts) != 1 or not alerts[0].get("workflow_id"):
            raise LinkBroken(f"{source} webhook took no alert ({answer.get('status')})")
        return str(alerts[0]["workflow_id"])

    def _client(self) -> Client:
        if self._temporal is None:
            raise LinkBroken("cannot see the incident workflow: Temporal not reachable")
        return self._temporal

    async def _until_notified(self, workflow_id: str) -> None:
        """Until the incident workflow's notify step (post_card or place_card) has completed."""
        handle = self._client().get_workflow_handle(workflow_id)
        while True:
            scheduled: set[int] = set()
            try:
                events = [event async for event in handle.fetch_history_events()]
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                # Spooled (Temporal was slow when the probe posted): not started yet, not broken.
                # The link's deadline still bounds the wait.
                events = []
            for event in events:
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and \
                        event.activity_task_scheduled_event_attributes.activity_type.name in NOTIFY_ACTIVITIES:
                    scheduled.add(event.event_id)
                elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and \
                        event.activity_task_completed_event_attributes.scheduled_event_id in scheduled:
                    return
            await asyncio.sleep(_POLL_SECONDS)

    async def _until_closed(self, workflow_id: str) -> None:
        handle = self._client().get_workflow_handle(workflow_id, result_type=IncidentOutcome)
        while True:
            try:
                result = await handle.result()
                break
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(_POLL_SECONDS)  # spooled, not started yet
        status = result.status
        if status != "resolved":
            raise LinkBroken(f"probe incident ended {status}, not resolved")

    async def _cleanup(self, workflow_id: str) -> None:
        """A failed probe must not leave an open incident behind."""
        if self._temporal is None:
            return
        try:
            await self._temporal.get_workflow_handle(workflow_id).terminate("alert-chain probe failed")
        except Exception:  # noqa: BLE001 - already closed, or Temporal is the broken link
            pass


async def _timed(link: str, check: Awaitable[None], deadline: float) -> LinkResult:
    started = time.monotonic()
    try:
        await asyncio.wait_for(check, deadline)
    except TimeoutError:
        return LinkResult(link=link, ok=False, seconds=round(time.monotonic() - started, 3),
                          error=f"not done within {deadline:g} s")
    except LinkBroken as exc:
        return LinkResult(link=link, ok=False, seconds=round(time.monotonic() - started, 3), error=str(exc))
    return LinkResult(link=link, ok=True, seconds=round(time.monotonic() - started, 3))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _alertmanager_body(run_id: str, fingerprint: str, status: str, starts: str, ends: str | None) -> dict[str, Any]:
    labels = {"alertname": "AwoooiAlertChainProbe", "service": "awoooi", "severity": "info",
              PROBE_LABEL: "true", "probe_run": run_id}
    alert = {"status": status, "labels": labels,
             "annotations": {"summary": "awoooi alert-chain probe (synthetic, closes itself)"},
             "startsAt": starts, "endsAt": ends or "0001-01-01T00:00:00Z", "generatorURL": "",
             "fingerprint": fingerprint}
    return {"version": "4", "groupKey": f'{{}}:{{probe_run="{run_id}"}}', "truncatedAlerts": 0,
            "receiver": "awoooi-probe", "status": status, "alerts": [alert], "groupLabels": {},
            "commonLabels": labels, "commonAnnotations": alert["annotations"], "externalURL": ""}


def _sentry_event(run_id: str, issue_id: str) -> dict[str, Any]:
    event = {"event_id": hashlib.sha256(run_id.encode()).hexdigest()[:32], "issue_id": issue_id,
             "title": "awoooi alert-chain probe", "level": "info", "project": "awoooi", "datetime": _now(),
             "message": "synthetic probe event, closes itself", "tags": [[PROBE_LABEL, "true"]]}
    return {"action": "triggered", "installation": {"uuid": "awoooi-probe"},
            "data": {"event": event, "triggered_rule": "awoooi alert-chain probe"},
            "actor": {"type": "application", "id": "awoooi", "name": "awoooi"}}


def _sentry_resolved(issue_id: str) -> dict[str, Any]:
    issue = {"id": issue_id, "title": "awoooi alert-chain probe", "level": "info", "status": "resolved",
             "project": {"slug": "awoooi"}, "lastSeen": _now(), "metadata": {}}
    return {"action": "resolved", "installation": {"uuid": "awoooi-probe"}, "data": {"issue": issue},
            "actor": {"type": "application", "id": "awoooi", "name": "awoooi"}}

