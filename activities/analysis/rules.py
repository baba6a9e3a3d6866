"""RuleAnalyzer: deterministic analysis of an alert from the knowledge base.

Pure CPU and no I/O, so it can never be the reason an incident goes unanalysed, and a retried
activity produces exactly the same Analysis (cards are rendered from it deterministically).

Matching looks at the alert in tiers of decreasing trust: first its name/title (and Sentry's
exception type), then labels and annotation texts, last the PromQL/runbook URLs. Within a tier the
first rule in knowledge-base order wins. A name is the strongest evidence of what an alert is about,
so a specific rule hit by the description never beats a rule hit by the name; matches found only in
weaker tiers get a small confidence discount.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote_plus

from core.learning import LearningSummary
from activities.analysis.knowledge_base import ALERT_RULES, EXCEPTION_RULES, Rule
from core.models import (
    Alert,
    Analysis,
    Frequency,
    RecommendedRepair,
    RepairAction,
    Source,
)

RECURRING_THRESHOLD = 5  # occurrences in 24h from which an anomaly counts as recurring

# Labels whose values describe *what* is alerting (not where); other labels (instance, namespace,
# pod names) would make rules fire on host names like "k8s-node1".
_DESCRIPTIVE_LABELS = ("job", "exception_type", "reason", "error_type", "type")
# Labels shown to the operator as "where" in the fix suggestion.
_TARGET_LABELS = (
    "namespace", "pod", "container", "deployment", "statefulset", "daemonset", "job_name",
    "cronjob", "horizontalpodautoscaler", "node", "instance", "device", "dev", "mountpoint",
    "persistentvolumeclaim", "topic", "consumergroup", "queue", "service",
)
# Confidence discount per tier: name (0), labels/annotations (1), URLs/PromQL (2).
_TIER_DISCOUNT = (0.0, 0.05, 0.1)


class Match(NamedTuple):
    rule: Rule
    tier: int


def _haystacks(alert: Alert) -> tuple[str, str, str]:
    """The alert's text in three tiers of decreasing trust."""
    primary = [alert.alertname, alert.title]
    secondary: list[str] = []
    tertiary: list[str] = []
    if alert.sentry is not None:
        if alert.sentry.exception_type:
            primary.insert(0, alert.sentry.exception_type)
        secondary += [alert.sentry.exception_value or "", alert.sentry.culprit or ""]
    secondary += [alert.labels.get(k, "") for k in _DESCRIPTIVE_LABELS]
    for value in alert.annotations.values():
        (tertiary if value.startswith(("http://", "https://", "/")) else secondary).append(value)
    tertiary += [unquote_plus(link.url) for link in alert.links]

    def join(parts: list[str]) -> str:
        return " | ".join(p for p in parts if p)

    return join(primary), join(secondary), join(tertiary)


def _exception_type(alert: Alert) -> str | None:
    if alert.sentry is not None and alert.sentry.exception_type:
        return alert.sentry.exception_type
    return alert.labels.get("exception_type") or None


def _candidates(alert: Alert) -> tuple[Rule, ...]:
    """Which rules may explain this alert: exceptions are not metric alerts and vice versa."""
    if alert.source == Source.SENTRY:
        # A Sentry issue with an exception type is code; a Sentry metric alert has none.
        return EXCEPTION_RULES if _exception_type(alert) else EXCEPTION_RULES + ALERT_RULES
    if _exception_type(alert):
        return ALERT_RULES + EXCEPTION_RULES
    return ALERT_RULES


def match(alert: Alert) -> Match | None:
    """The first rule that explains the alert, and the tier of text that matched it."""
    candidates = _candidates(alert)
    for tier, text in enumerate(_haystacks(alert)):
        if not text:
            continue
        for rule in candidates:
            if any(p.search(text) for p in rule.patterns):
                return Match(rule, tier)
    return None


def _in_kubernetes(alert: Alert) -> bool:
    return bool(alert.labels.get("pod") and alert.labels.get("namespace"))


def _target(alert: Alert) -> str:
    parts = [f"{k}={alert.labels[k]}" for k in _TARGET_LABELS if alert.labels.get(k)]
    return f"Affected: {', '.join(parts)}. " if parts else ""


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _recurring(frequency: Frequency | None) -> int:
    if frequency is not None and frequency.last_24h >= RECURRING_THRESHOLD:
        return frequency.last_24h
    return 0


def _from_rule(alert: Alert, found: Match, frequency: Frequency | None) -> Analysis:
    rule = found.rule
    action = rule.action_in_k8s if rule.action_in_k8s and _in_kubernetes(alert) else rule.action
    reason = rule.reason
    if action != rule.action:
        reason = f"{reason}; running in Kubernetes, so a pod restart is a safe first step"
    root_cause, prevention = rule.root_cause, rule.prevention
    times = _recurring(frequency)
    if times:
        note = f"Recurring: {times} times in 24h."
        root_cause = f"{root_cause} {note} The underlying cause has not been fixed."
        prevention = f"{note} Treat it as a problem, not an incident: {prevention}"
        if action.tier == 1:
            reason = f"{reason}. {note} Restarting only buys time; a permanent fix is needed"
    confidence = max(0.0, rule.confidence - _TIER_DISCOUNT[found.tier])
    return Analysis(
        category=rule.category,
        root_cause=root_cause,
        impact=rule.impact,
        fix_suggestion=_target(alert) + rule.fix_suggestion,
        prevention=prevention,
        confidence=round(confidence, 2),
        analyzed_by=RuleAnalyzer.name,
        recommended_repair=RecommendedRepair(action=action, tier=action.tier, reason=reason),
        rule_id=rule.id,
    )


def _generic(alert: Alert, frequency: Frequency | None) -> Analysis:
    """No rule matched: say so plainly and hand it to a human."""
    times = _recurring(frequency)
    recurring = f" Recurring: {times} times in 24h." if times else ""
    if alert.source == Source.SENTRY:
        exc = _exception_type(alert) or alert.title
        culprit = alert.sentry.culprit if alert.sentry and alert.sentry.culprit else "unknown location"
        value = alert.sentry.exception_value if alert.sentry else None
        detail = f" ({_quote(value)})" if value else ""
        action = RepairAction.CREATE_ISSUE
        return Analysis(
            category="application",
            root_cause=f"Application exception {exc}{detail} raised in {culprit}. No knowledge-base "
            f"rule covers this exception type, so the cause is in the application code or its "
            f"data.{recurring}",
            impact="Requests or jobs that reach this code path fail; see the Sentry event count "
            "and affected users for scope.",
            fix_suggestion=f"Open the Sentry issue, read the stack trace at {culprit} and the "
            "breadcrumbs, reproduce with the same input, and fix or handle the exception; check "
            "whether it started with a release (Sentry 'first seen' vs deploys).",
            prevention=f"Add a regression test for this input and handle {exc} explicitly.{recurring}",
            confidence=0.4,
            analyzed_by=RuleAnalyzer.name,
            recommended_repair=RecommendedRepair(
                action=action, tier=action.tier, reason="application bug for the owning team"
            ),
            rule_id="generic-exception",
        )
    description = alert.description
    quoted = f' The alert says: "{_quote(description)}".' if description else ""
    action = RepairAction.MANUAL_INTERVENTION
    return Analysis(
        category="unknown",
        root_cause=f"No knowledge-base rule matched alert '{alert.alertname}'.{quoted} The cause "
        f"is unknown; do not act on a guess.{recurring}",
        impact="Unknown; judge from the alert's severity "
        f"({alert.severity.value}) and the service it names ({alert.service}).",
        fix_suggestion=_target(alert) + "Read the alert's expression (generator URL) and runbook, "
        "check the affected target's logs and recent changes.",
        prevention="Once the cause is known, add a rule for this alert to the knowledge base "
        "(activities/analysis/knowledge_base.py).",
        confidence=0.2,
        analyzed_by=RuleAnalyzer.name,
        recommended_repair=RecommendedRepair(
            action=action, tier=action.tier, reason="no rule matched; a human must investigate"
        ),
        rule_id="generic",
    )


class RuleAnalyzer:
    """The ``Analyzer`` port backed by the static knowledge base."""

    name = "rules"

    async def analyze(
        self, alert: Alert, frequency: Frequency | None = None, history: LearningSummary | None = None
    ) -> Analysis:
        # Resolved alerts are analysed exactly like firing ones: the card shows the same analysis
        # and is edited to "resolved" elsewhere.
        found = match(alert)
        if found is None:
            return _generic(alert, frequency)
        return _from_rule(alert, found, frequency)
