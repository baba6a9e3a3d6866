"""What the Temporal Web UI shows about an incident: its summary, its details, its repair phase.

The Web UI is the operators' console (issue 9). A workflow's static summary and details are set once
at start (by the intake, in the signal-with-start request); its current details follow the incident
(set by the workflow with ``workflow.set_current_details``). Pure functions of the models, so the
workflow stays deterministic and the intake and the workflow word things the same way.
"""

from __future__ import annotations

from core.models import Alert, IncidentRef, IncidentView
from core.repair import RepairPhase, RepairState

# Values of the RepairPhase search attribute: `RepairPhase="awaiting_approval"` is the approval queue.
PHASE_NONE = "none"
PHASE_DONE = "done"
_OPEN_PHASES = {RepairPhase.AWAITING_APPROVAL: "awaiting_approval", RepairPhase.RUNNING: "running",
                RepairPhase.VERIFYING: "verifying"}


def repair_phase(repair: RepairState | None) -> str:
    """none / awaiting_approval / running / verifying / done."""
    if repair is None:
        return PHASE_NONE
    return _OPEN_PHASES.get(repair.phase, PHASE_DONE)


def static_summary(alert: Alert) -> str:
    """One line for the workflow list: ``[critical] KubePodCrashLooping · checkout``."""
    return f"[{alert.severity.value}] {alert.alertname} · {alert.service}"[:400]


def static_details(alert: Alert, ref: IncidentRef) -> str:
    """What the incident is, for the detail page (Markdown, as the Web UI renders it)."""
    lines = [
        f"**Source:** {alert.source.value}",
        f"**Incident:** `{ref.incident_id}`",
        f"**Anomaly key:** `{ref.anomaly_key}` (learning and frequency are counted on it)",
        f"**Alert:** {alert.title}",
    ]
    lines += [f"**{link.title}:** {link.url}" for link in alert.links[:5]]
    return "\n".join(lines)[:4000]


def current_details(view: IncidentView, repair: RepairState | None) -> str:
    """What the incident is doing now: status, occurrences, last seen, repair phase, who decided."""
    lines = [
        f"**Status:** {view.status.value}" + (" (in its grace period: a flap re-opens it)"
                                              if view.status.value == "resolved" else ""),
        f"**Occurrences:** {view.occurrences}",
        f"**Last seen:** {view.last_seen.isoformat(timespec='seconds')}",
        f"**Repair phase:** {repair_phase(repair)}",
    ]
    if view.acked is not None:
        lines.append(f"**Acknowledged:** by {view.acked.by} via {view.acked.via} at "
                     f"{view.acked.at.isoformat(timespec='seconds')}")
    elif view.ackable and view.status.value == "open":
        lines.append("**Acknowledged:** not yet")
    if repair is not None:
        lines.append(f"**Repair:** {repair.plan.action.value} (tier {repair.plan.tier}), {repair.phase.value}"
                     + (f": {repair.note}" if repair.note else ""))
        if repair.decision is not None:
            verb = "approved" if repair.decision.approve else "rejected"
            lines.append(f"**Decided:** {verb} by {repair.decision.by} via {repair.decision.via}")
    if view.silenced:  # docs/adr/0029: no card, repair or re-notification while this holds
        until = "until it resolves" if view.silenced_until_resolved else (
            f"until {view.silenced_until.isoformat(timespec='seconds')}" if view.silenced_until else "for now")
        lines.append(f"**Silenced:** {view.silenced[:300]}" + (f" by {view.silenced_by}" if view.silenced_by else "")
                     + f", {until}")
    if view.flapping:  # docs/adr/0031: its card shows changes at most once a window, no automatic repair
        lines.append(f"**Flapping:** fired {view.flapping} times in the last {view.flap_window_seconds:.0f} s")
    elif view.stable_again:
        lines.append(f"**Flapping:** stable again (no re-fire for {view.flap_window_seconds:.0f} s)")
    return "\n".join(lines)[:4000]
