"""Where the incident's repair stands, read from the repair state every card call carries.

Every change of a repair's phase is followed by a card call (core/incident/repairs.py), and the
card's input carries the whole RepairState: so the decoder learns that a repair was proposed,
verified, found ineffective, timed out or not needed from the first card call that shows it, at
that call's time. Who approved, what ran and what was learned come from their own events (the
``decide`` update, ``execute_repair``, ``record_repair_result``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.timeline import model as k


@dataclass
class PhaseEntry:
    kind: str
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RepairTrack:
    repair_id: str | None = None
    phase: str | None = None
    action: str | None = None
    plan: dict[str, Any] | None = None

    def reset(self) -> None:
        self.repair_id = self.phase = self.action = None
        self.plan = None

    def carry(self, repair: Any) -> None:
        if isinstance(repair, dict):
            self.repair_id, self.phase = repair.get("repair_id"), repair.get("phase")
            self.action = (repair.get("plan") or {}).get("action")

    def recommended(self, recommendation: Any) -> None:
        if isinstance(recommendation, dict):
            self.plan = recommendation

    def executed(self, status: Any) -> None:
        self.phase = {"executed": "verifying", "simulated": "simulated", "failed": "failed"}.get(status, "escalated")

    def on_card(self) -> str:
        return f"; repair {self.phase.replace('_', ' ')}" if self.phase else ""

    def seen(self, repair: Any) -> list[PhaseEntry]:
        """The entries a card's repair state adds: a new repair, or a phase it moved to since."""
        if not isinstance(repair, dict) or not repair.get("repair_id"):
            return []
        phase = str(repair.get("phase") or "")
        new = repair["repair_id"] != self.repair_id
        previous = None if new else self.phase
        if not new and phase == previous:
            return []
        plan = repair.get("plan") or {}
        self.repair_id, self.phase, self.action = repair["repair_id"], phase, plan.get("action")
        note = str(repair.get("note") or "")
        facts = {"action": plan.get("action"), "tier": plan.get("tier"), "mode": repair.get("mode"),
                 "repair_id": repair["repair_id"], "confidence": plan.get("confidence"), "source": plan.get("source")}
        entries: list[PhaseEntry] = []
        if new:
            entries.append(PhaseEntry(*self._proposal(repair, plan, phase, note), facts=facts))
        if phase == "succeeded":
            entries.append(PhaseEntry(k.VERIFIED, note or "the alert resolved within the verify window", facts))
        elif phase == "failed" and previous == "verifying":
            entries.append(PhaseEntry(k.INEFFECTIVE, note or "the alert did not resolve in time", facts))
        elif phase == "timed_out":
            entries.append(PhaseEntry(k.APPROVAL_TIMED_OUT, note or "no decision in time", facts))
        elif phase == "not_needed":
            entries.append(PhaseEntry(k.REPAIR_NOT_NEEDED, note or "resolved before anyone decided", facts))
        return entries

    @staticmethod
    def _proposal(repair: dict[str, Any], plan: dict[str, Any], phase: str, note: str) -> tuple[str, str]:
        confidence = plan.get("confidence")
        sure = f", {round(float(confidence) * 100)}% from {plan.get('source')}" if isinstance(
            confidence, int | float) else ""
        what = f"{plan.get('action')} (tier {plan.get('tier')}{sure})"
        if phase == "escalated" and repair.get("mode") != "auto":
            return k.ESCALATED, f"{what} not proposed: {note}"
        if repair.get("mode") == "manual" or phase == "manual":
            return k.REPAIR_PROPOSED, f"{what}: {note or 'needs a human'}"
        if repair.get("mode") == "auto":
            return k.REPAIR_PROPOSED, f"{what}: {note or 'runs without asking'}"
        deadline = f" until {repair['deadline']}" if repair.get("deadline") else ""
        return k.REPAIR_PROPOSED, f"{what}: awaiting approval{deadline}"
