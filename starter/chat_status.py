"""/incidents and /status in the operators' chat: what is open, and how the last probe run went.

``/incidents``: the open incidents from Temporal's visibility (the same query as ``awoooi incidents
--status open``), unacknowledged first when the rows say whether they were acked, newest first
otherwise; a silenced one is marked 🔕. ``/status``: the last finished AlertChainProbe run's report,
one line per link (and whether a run is going on now).
"""

from __future__ import annotations

import html
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from core.probe import ProbeReport
from starter.chat_commands import ChatCommand, ChatCommands, CommandRefused
from starter.incidents_cli import list_incidents

MAX_LISTED = 25
PROBE_TYPE = "AlertChainProbe"
_SEVERITY = {"critical": "🔴", "error": "🟠", "warning": "🟡", "info": "🔵"}


def _acked(row: dict[str, Any]) -> bool | None:
    """The row's ``acked``: True/False, None when its run records no acks. `awoooi incidents` rows say
    "yes"/"no"/"-" (starter/incidents_cli.py); the search attribute itself "true"/"false"."""
    value = str(row.get("acked", "-")).lower()
    return True if value in ("yes", "true") else False if value in ("no", "false") else None


def order_incidents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unacked first (then those whose runs record no acks, then acked ones), newest first in each."""
    by_time = sorted(rows, key=lambda r: r.get("started_at") or "", reverse=True)
    return sorted(by_time, key=lambda r: {False: 0, None: 1, True: 2}[_acked(r)])


def incident_line(row: dict[str, Any]) -> str:
    mark = _SEVERITY.get(str(row.get("severity") or "").lower(), "⚪")
    parts = [f"{mark} <code>{html.escape(str(row['id'])[:150])}</code>",
             html.escape(str(row.get("alert") or "-")[:80]), html.escape(str(row.get("service") or "-")[:60]),
             html.escape(str(row.get("age") or "-"))]
    if row.get("repair") not in (None, "none"):
        parts.append(f"repair: {html.escape(str(row['repair']))}")
    if row.get("silenced") not in (None, "-"):
        parts.append("🔕 silenced")
    acked = _acked(row)
    if acked is not None:
        parts.append("acked" if acked else "<b>not acked</b>")
    return " · ".join(parts)


def report_lines(report: ProbeReport) -> list[str]:
    lines = []
    for link in report.links:
        mark = "➖" if link.skipped else "✅" if link.ok else "❌"
        line = f"{mark} {html.escape(link.link)} {link.seconds:.1f}s"
        if link.error:
            line += f" — {html.escape(link.error[:200])}"
        lines.append(line)
    return lines


class StatusCommands:
    def __init__(self, temporal: Client, *, timeout: float) -> None:
        self._temporal = temporal
        self._timeout = timeout

    def register(self, router: ChatCommands) -> None:
        router.register("incidents", self.incidents, "/incidents")
        router.register("status", self.status, "/status")

    async def incidents(self, command: ChatCommand) -> str:
        try:
            rows = await list_incidents(self._temporal, None, status="open", limit=200)
        except (RPCError, RuntimeError) as exc:
            raise CommandRefused("Temporal is unavailable; try again") from exc
        rows = [r for r in rows if r["status"] == "open"]
        if not rows:
            return "No open incidents."
        lines = [incident_line(r) for r in order_incidents(rows)[:MAX_LISTED]]
        if len(rows) > MAX_LISTED:
            lines.append(f"+{len(rows) - MAX_LISTED} more (awoooi incidents --status open)")
        return f"<b>{len(rows)} open incident(s)</b>\n" + "\n".join(lines)

    async def status(self, command: ChatCommand) -> str:
        try:
            last, running = None, False
            async for execution in self._temporal.list_workflows(f'WorkflowType="{PROBE_TYPE}"', limit=20):
                if execution.status is WorkflowExecutionStatus.RUNNING:
                    running = True
                elif execution.status is WorkflowExecutionStatus.COMPLETED and (
                        last is None or (execution.close_time or execution.start_time) >
                        (last.close_time or last.start_time)):
                    last = execution
            if last is None:
                return "No finished probe run yet." + (" One is running now." if running else "")
            report = await self._temporal.get_workflow_handle(last.id, run_id=last.run_id).result(
                result_type=ProbeReport)
        except (RPCError, RuntimeError) as exc:
            raise CommandRefused("Temporal is unavailable; try again") from exc
        when = (last.close_time or last.start_time).strftime("%Y-%m-%d %H:%M:%S UTC")
        head = f"{'✅' if report.ok else '❌'} <b>Last probe run</b> {when}"
        if running:
            head += " (another is running now)"
        return "\n".join([head, *report_lines(report)])


__all__ = ["StatusCommands", "incident_line", "order_incidents", "report_lines"]
