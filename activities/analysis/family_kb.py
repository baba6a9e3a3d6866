"""Knowledge for technology x failure mode, composed from the two tables.

Hand-written rules (knowledge_base.py) say the most about the alerts they name; this module answers
for everything else of a known family: the mode's causes and repair tier, phrased for the family,
with the family's own first checks. The composed entries are plain ``Rule`` objects, built once at
import, so the analyzer, the tests and ``--explain`` treat them exactly like hand-written ones.
"""

from __future__ import annotations

from activities.analysis.failure_modes import MODES, Mode
from activities.analysis.families import FAMILIES, Family
from activities.analysis.knowledge_base import ALERT_RULES, Rule
from core.models import RepairAction

A = RepairAction
FAMILY_CONFIDENCE = 0.65  # family and mode both identified; rules.py lowers it for weaker evidence
FAMILY_ONLY_CONFIDENCE = 0.45
MODE_ONLY_CONFIDENCE = 0.35


def _action(family: Family, mode: Mode) -> tuple[RepairAction, str]:
    if mode.action is A.SCALE_UP and not family.scalable:
        return A.MANUAL_INTERVENTION, f"{family.name} does not scale by adding replicas; {mode.reason}"
    return mode.action, mode.reason


# What each mode's text tells, in meaning.py's vocabulary: modes, resources, fixes.
_MEANING: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "certificates": (("cert-expiry",), (), ("renew-cert",)),
    "security": (("security",), (), ("security",)),
    "replication": (("replication",), (), ("fix-replication",)),
    "configuration": (("config", "skew"), (), ("fix-config",)),
    "availability": (("down",), (), ("restore",)),
    "errors": (("errors",), (), ("investigate",)),
    "latency": (("latency",), (), ("investigate", "add-capacity")),
    "capacity": (("saturation", "capacity-forecast"), ("disk",), ("free-space",)),
    "saturation": (("saturation",), (), ("find-consumer", "add-capacity")),
}


def _entry(family: Family, mode: Mode) -> Rule:
    action, reason = _action(family, mode)
    modes, resources, fixes = _MEANING[mode.id]
    restart_ok = mode.id == "availability" and family.restartable
    return Rule(
        id=f"{family.id}-{mode.id}",
        category=mode.category or family.category,
        patterns=(),
        root_cause=mode.cause.format(name=family.name),
        impact=mode.impact,
        fix_suggestion=f"{mode.fix} On {family.name}: {family.checks}",
        prevention=mode.prevention,
        confidence=FAMILY_CONFIDENCE,
        action=action,
        reason=reason,
        action_in_k8s=A.RESTART_POD if restart_ok else None,
        avoid=mode.avoid,
        modes=modes,
        resources=resources,
        fixes=fixes,
        technology=family.id,
    )


def _family_only(family: Family) -> Rule:
    return Rule(
        id=f"{family.id}-other",
        category=family.category,
        patterns=(),
        root_cause=f"A {family.name} alert whose failure mode the knowledge base could not tell from its name, "
        "expression or text.",
        impact=f"Depends on the alert; everything that depends on {family.name} may be affected.",
        fix_suggestion=f"Read the alert's expression and runbook. On {family.name}: {family.checks}",
        prevention="Add a specific knowledge-base rule once the cause is understood.",
        confidence=FAMILY_ONLY_CONFIDENCE,
        action=A.MANUAL_INTERVENTION,
        reason=f"no specific knowledge for this {family.name} alert",
        technology=family.id,
    )


def _mode_only(mode: Mode) -> Rule:
    action, reason = (A.MANUAL_INTERVENTION, "the affected technology is unknown; a human must look") \
        if mode.action is A.SCALE_UP else (mode.action, mode.reason)
    return Rule(
        id=f"mode-{mode.id}",
        category=mode.category or "unknown",
        patterns=(),
        root_cause=mode.cause.format(name="The alerting system"),
        impact=mode.impact,
        fix_suggestion=f"{mode.fix} The technology could not be identified: read the alert's expression and "
        "runbook to find the component.",
        prevention=mode.prevention,
        confidence=MODE_ONLY_CONFIDENCE,
        modes=_MEANING[mode.id][0],
        resources=_MEANING[mode.id][1],
        fixes=_MEANING[mode.id][2],
        action=action,
        reason=reason,
        avoid=mode.avoid,
    )


# The hand-written family fallbacks (postgres-other, ...) keep their ids and wording.
_LEGACY = {r.id: r for r in ALERT_RULES if r.id.endswith("-other")}

ENTRIES: dict[tuple[str, str], Rule] = {(f.id, m.id): _entry(f, m) for f in FAMILIES for m in MODES}
FAMILY_ONLY: dict[str, Rule] = {f.id: _LEGACY.get(f"{f.id}-other") or _family_only(f) for f in FAMILIES}
MODE_ONLY: dict[str, Rule] = {m.id: _mode_only(m) for m in MODES}
COMPOSED_RULES: tuple[Rule, ...] = (
    tuple(ENTRIES.values()) + tuple(r for r in FAMILY_ONLY.values() if r.id not in _LEGACY) + tuple(MODE_ONLY.values())
)
