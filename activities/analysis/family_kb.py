"""Knowledge for technology x failure mode (x resource), composed from the tables.

Hand-written rules (knowledge_base.py) say the most about the alerts they name; this module answers
for everything else of a known technology: the mode's causes and repair tier, phrased for the
technology (its name in the root cause, impact and prevention), with the fix its kind of system needs
and the technology's own first checks. Saturation and capacity forecasts are told per resource.

When the technology is known but not the failure mode, the answer says so (``<family>-other``):
"failure mode not recognised", the technology's general first checks, and a confidence below
``SPECIFIC_CONFIDENCE``, never a confident story of another mode (docs/adr/0030).

The composed entries are plain ``Rule`` objects, built once at import, so the analyzer, the tests,
the evaluation and ``--explain`` treat them exactly like hand-written ones.
"""

from __future__ import annotations

from activities.analysis.failure_modes import BY_ID as MODES_BY_ID
from activities.analysis.failure_modes import RESOURCES, Mode, Resource
from activities.analysis.families import FAMILIES, Family
from activities.analysis.knowledge_base import Rule
from core.models import RepairAction

A = RepairAction
SPECIFIC_CONFIDENCE = 0.5  # below it an analysis says it is generic (the card, the evaluation, the ADR)
FAMILY_CONFIDENCE = 0.65  # family and mode both identified; rules.py lowers it for weaker evidence
FAMILY_ONLY_CONFIDENCE = 0.45
MODE_ONLY_CONFIDENCE = 0.35
_UNKNOWN_RESOURCE = ("a resource the alert does not name (CPU, memory, connections, threads or a queue)",
                     "traffic grew, a client misbehaves, or a limit is too small")


def _action(family: Family, mode: Mode, resource: Resource | None) -> tuple[RepairAction, str]:
    action = resource.action if resource is not None and mode.id == "saturation" else mode.action
    reason = mode.reason.format(name=family.name)
    if action in (A.SCALE_UP, A.INCREASE_MEMORY) and not family.scalable:
        return A.MANUAL_INTERVENTION, f"{family.name} does not scale by adding replicas; {reason}"
    return action, reason


def _text(template: str, family_name: str, resource: Resource | None) -> str:
    what, cause = (resource.what, resource.cause) if resource is not None else _UNKNOWN_RESOURCE
    return template.format(name=family_name, resource=what, resource_cause=cause)


def entry_id(family: Family, mode: Mode, resource: Resource | None) -> str:
    suffix = f"-{resource.id}" if mode.per_resource and resource is not None else ""
    return f"{family.id}-{mode.id}{suffix}"


def _entry(family: Family, mode: Mode, resource: Resource | None) -> Rule:
    action, reason = _action(family, mode, resource)
    if mode.per_resource:
        fix = resource.fix if resource is not None else mode.fix
        fix_text = fix.text or ("Find which resource is at its limit and who consumes it (top clients, queries, "
                                "processes), then shed the load or add capacity.")
        fixes = fix.fixes if mode.id == "saturation" else tuple(dict.fromkeys(fix.fixes + mode.fix.fixes))[:2]
        avoid = resource.avoid if resource is not None and resource.avoid else mode.avoid
    else:
        fix = mode.fix_for(family.kind)
        fix_text, fixes, avoid = fix.text, fix.fixes, mode.avoid
    restart_ok = mode.id == "down" and family.restartable
    return Rule(
        id=entry_id(family, mode, resource),
        category=mode.category or family.category,
        patterns=(),
        root_cause=_text(mode.cause, family.name, resource),
        impact=_text(mode.impact, family.name, resource),
        fix_suggestion=f"{fix_text if mode.per_resource else _text(fix_text, family.name, resource)} "
        f"On {family.name}: {family.checks}",
        prevention=_text(mode.prevention, family.name, resource),
        confidence=FAMILY_CONFIDENCE,
        action=action,
        reason=reason,
        action_in_k8s=A.RESTART_POD if restart_ok else None,
        avoid=avoid,
        modes=mode.tells,
        resources=(resource.id,) if resource is not None and mode.per_resource else (),
        fixes=fixes,
        technology=family.id,
    )


def _family_only(family: Family) -> Rule:
    return Rule(
        id=f"{family.id}-other",
        category=family.category,
        patterns=(),
        root_cause=f"Failure mode not recognised: this {family.name} alert does not say, in its name, expression "
        f"or text, what kind of trouble it reports, so no cause is guessed.",
        impact=f"Unknown to the knowledge base; the alert's own summary and description say what it measures. "
        f"Whatever depends on {family.name} may be affected.",
        fix_suggestion=f"Read the alert's expression and runbook first. General first checks for {family.name}: "
        f"{family.checks}",
        prevention=f"Once the cause is understood, teach the knowledge base this {family.name} alert "
        "(activities/analysis/).",
        confidence=FAMILY_ONLY_CONFIDENCE,
        action=A.MANUAL_INTERVENTION,
        reason=f"failure mode not recognised for this {family.name} alert; a human must look",
        technology=family.id,
    )


def _mode_only(mode: Mode, resource: Resource | None) -> Rule:
    action, reason = (A.MANUAL_INTERVENTION, "the affected technology is unknown; a human must look") \
        if mode.action in (A.SCALE_UP, A.INCREASE_MEMORY) else (mode.action, mode.reason.format(name="it"))
    fix = (resource.fix if resource is not None else mode.fix) if mode.per_resource else mode.fix
    return Rule(
        id=f"mode-{mode.id}" + (f"-{resource.id}" if mode.per_resource and resource is not None else ""),
        category=mode.category or "unknown",
        patterns=(),
        root_cause=_text(mode.cause, "The alerting system", resource),
        impact=_text(mode.impact, "the system", resource),
        fix_suggestion=f"{fix.text if mode.per_resource else _text(fix.text, 'the system', resource)} The "
        "technology could not be identified: read "
        "the alert's expression and runbook to find the component.",
        prevention=_text(mode.prevention, "the system", resource),
        confidence=MODE_ONLY_CONFIDENCE,
        action=action,
        reason=reason,
        avoid=mode.avoid,
        modes=mode.tells,
        resources=(resource.id,) if resource is not None and mode.per_resource else (),
        fixes=fix.fixes,
    )


def _variants(mode: Mode) -> tuple[Resource | None, ...]:
    return (None, *RESOURCES) if mode.per_resource else (None,)


_MODES = tuple(MODES_BY_ID.values())
ENTRIES: dict[tuple[str, str, str | None], Rule] = {
    (f.id, m.id, r.id if r else None): _entry(f, m, r) for f in FAMILIES for m in _MODES for r in _variants(m)
}
FAMILY_ONLY: dict[str, Rule] = {f.id: _family_only(f) for f in FAMILIES}
MODE_ONLY: dict[tuple[str, str | None], Rule] = {
    (m.id, r.id if r else None): _mode_only(m, r) for m in _MODES for r in _variants(m)
}
COMPOSED_RULES: tuple[Rule, ...] = tuple(ENTRIES.values()) + tuple(FAMILY_ONLY.values()) + tuple(MODE_ONLY.values())


def entry(family: Family, mode: Mode, resource: Resource | None) -> Rule:
    return ENTRIES[(family.id, mode.id, resource.id if resource is not None and mode.per_resource else None)]


def mode_only(mode: Mode, resource: Resource | None) -> Rule:
    return MODE_ONLY[(mode.id, resource.id if resource is not None and mode.per_resource else None)]
