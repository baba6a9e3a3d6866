"""The AlertChainProbe's activities: one per link (each with its own deadline in the workflow),
and the report step that sets the chain metrics and tells the operators about an outage.

The outage message goes straight to the operators' chat through the chat port, not through the
incident pipeline, which may be the very thing that is broken. Once per outage: the first failing
run announces it, the first passing run after it says how long it lasted.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol

import structlog
from temporalio import activity

from activities.probe.chain_checks import ChainChecks
from core.errors import UpstreamError
from core.metrics import Metrics
from core.ports import CardRenderer, ChatChannel
from core.probe import LINKS, CheckInput, LinkResult, ReportInput

log = structlog.get_logger(__name__)


class OutageStore(Protocol):
    async def get(self) -> dict[str, str]: ...

    async def start(self, since: str, links: str) -> None: ...

    async def mark_announced(self) -> None: ...

    async def clear(self) -> None: ...


class ProbeActivities:
    def __init__(self, checks: ChainChecks, outages: OutageStore, channel: ChatChannel | None, render: CardRenderer,
                 operators_chat: str | None, metrics: Metrics) -> None:
        self._checks = checks
        self._outages = outages
        self._channel = channel
        self._render = render
        self._chat = operators_chat
        self._metrics = metrics

    @activity.defn(name="probe_api")
    async def api(self, inp: CheckInput) -> LinkResult:
        return await self._checks.api(inp.deadline_seconds)

    @activity.defn(name="probe_alertmanager")
    async def alertmanager(self, inp: CheckInput) -> LinkResult:
        return await self._checks.alertmanager(inp.run_id, inp.deadline_seconds)

    @activity.defn(name="probe_sentry")
    async def sentry(self, inp: CheckInput) -> LinkResult:
        return await self._checks.sentry(inp.run_id, inp.deadline_seconds)

    @activity.defn(name="probe_telegram")
    async def telegram(self, inp: CheckInput) -> LinkResult:
        return await self._checks.telegram(inp.deadline_seconds)

    @activity.defn(name="probe_sentry_api")
    async def sentry_api(self, inp: CheckInput) -> LinkResult:
        return await self._checks.sentry_api(inp.deadline_seconds)

    @activity.defn(name="probe_report")
    async def report(self, inp: ReportInput) -> str:
        """Metrics, then the outage bookkeeping; returns what it told the chat
        (announced / recovered / quiet)."""
        report = inp.report
        for link in report.links:
            self._metrics.probe_success.labels(link=link.link).set(1 if link.ok else 0)
        self._metrics.probe_duration.set(inp.seconds)
        if report.ok:
            self._metrics.probe_last_success.set(time.time())
        outage = await self._outages.get()
        now = datetime.now(timezone.utc)
        if not report.ok:
            broken = ", ".join(link.link for link in report.broken())
            log.warning("alert chain broken", links=broken)
            await self._outages.start(now.isoformat(), broken)
            if outage.get("announced"):
                return "quiet"
            lines = [f"{link.link}: {link.error or 'failed'}" for link in report.broken()]
            if await self._send("🚨 awoooi alert chain broken: alerts may not reach you.", lines,
                                "Sent directly by the probe; one message per outage, another when it recovers."):
                await self._outages.mark_announced()
                return "announced"
            return "quiet"
        if not outage:
            return "quiet"
        since = datetime.fromisoformat(outage["since"]) if outage.get("since") else now
        lasted = _duration((now - since).total_seconds())
        log.info("alert chain restored", lasted=lasted)
        said = outage.get("announced") and await self._send(
            f"✅ awoooi alert chain restored after {lasted}", [f"It was broken at: {outage.get('links', '?')}."])
        await self._outages.clear()
        return "recovered" if said else "quiet"

    async def _send(self, title: str, lines: list[str], footer: str = "") -> bool:
        """One message to the operators, or False when the chat cannot be reached either (the
        Prometheus rules on awoooi_probe_success are then the ones that page)."""
        if self._channel is None or not self._chat:
            log.warning("alert chain report with no operators' chat configured")
            return False
        try:
            await self._channel.send(self._chat, self._render.notice(title, lines, footer))
        except UpstreamError as exc:
            log.error("could not tell the operators about the alert chain", error=str(exc))
            return False
        return True


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


__all__ = ["LINKS", "OutageStore", "ProbeActivities"]
