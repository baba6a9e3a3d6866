"""`awoooi probe`: the alert chain's checks, once, from a shell or a CD job.

The same ChainChecks the scheduled AlertChainProbe runs (activities/probe/chain_checks.py), printed one
line per link with a check mark or a cross and its time; exit 0 when every link passes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import TextIO

import httpx
from temporalio.client import Client

from activities.probe.chain_checks import ChainChecks
from core.probe import LinkResult, ProbeReport

ChecksFactory = Callable[[Client | None, httpx.AsyncClient], ChainChecks]

_NAMES = {"api": "API health (Valkey, a worker polling)", "alertmanager": "Alertmanager alert -> card -> closed",
          "sentry": "Sentry alert -> card -> closed", "telegram": "Telegram bot", "sentry_api": "Sentry API token"}


async def run_checks(checks: ChainChecks, run_id: str, deadline: float) -> ProbeReport:
    links = await asyncio.gather(checks.api(deadline), checks.alertmanager(run_id, deadline),
                                 checks.sentry(run_id, deadline), checks.telegram(deadline),
                                 checks.sentry_api(deadline))
    return ProbeReport(links=list(links))


def print_report(report: ProbeReport, api_base: str, out: TextIO, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"ok": report.ok, "api_base": api_base,
                          "links": [link.model_dump() for link in report.links]}), file=out)
    else:
        print(f"awoooi alert chain at {api_base}", file=out)
        for link in report.links:
            print(_line(link), file=out)
        print("all links pass" if report.ok else f"BROKEN: {', '.join(b.link for b in report.broken())}", file=out)
    return 0 if report.ok else 1


def _line(link: LinkResult) -> str:
    mark = "✓" if link.ok else "✗"
    note = f"  ({link.error})" if link.error else ""
    return f"  {mark} {_NAMES.get(link.link, link.link):<40} {link.seconds:6.2f} s{note}"


async def probe_once(client: Client | None, checks_for: ChecksFactory, api_base: str, deadline: float,
                     out: TextIO, *, as_json: bool) -> int:
    """``checks_for(client, http)`` builds the checks (worker/wiring.py's chain_checks, passed in by
    the CLI so this module need not import the composition root)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        report = await run_checks(checks_for(client, http), f"cli-{uuid.uuid4().hex[:12]}", deadline)
    return print_report(report, api_base, out, as_json=as_json)
