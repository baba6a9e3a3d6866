"""RuleAnalyzer: deterministic analysis of an alert from the knowledge base.

Pure CPU and no I/O, so it can never be the reason an incident goes unanalysed, and a retried
activity produces exactly the same Analysis (cards are rendered from it deterministically).

Matching looks at the alert in tiers of decreasing trust: first its name/title (and Sentry's
exception type), then labels and annotation texts, last the PromQL/runbook URLs. Within a tier the
first rule in knowledge-base order wins. A name is the strongest evidence of what an alert is about,
so a specific rule hit by the description never beats a rule hit by the name; matches found only in
weaker tiers get a small confidence discount.

Then every signal the alert carries is read (activities/analysis/signals.py): the technology family
from metric names, name words, labels and text, the failure mode from the name, the expression and
the text. A hand-written rule stands when it is about the identified family (or no family is
identified); otherwise the family x failure-mode entry answers, so a Cassandra timeout gets
Cassandra's checks instead of a generic "something is slow" (docs/adr/0012).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote_plus

from core.learning import LearningSummary
from activities.analysis import family_kb
from activities.analysis.failure_modes import CAPACITY_FORECAST, FORECAST, Mode, Resource, resource_in
from activities.analysis.failure_modes import identify as identify_mode
from activities.analysis.families import BY_ID as FAMILIES_BY_ID
from activities.analysis.families import FAMILIES, NEUTRAL_METRICS, UNIVERSAL_RULES, Family
from activities.analysis.workloads import shape, workload_of
from core.alert_words import alert_links, alert_words, runbook_url
from activities.analysis.knowledge_base import ALERT_RULES, EXCEPTION_RULES, Rule
from activities.analysis.signals import Signals, extract
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


_RESTARTS = (RepairAction.RESTART_POD, RepairAction.RESTART_CONTAINER, RepairAction.DELETE_POD)
# Hand-written rules about full disks/volumes and certificates: restarting or scaling does not help.
_LEGACY_AVOID: dict[str, tuple[RepairAction, ...]] = {
    rule_id: _RESTARTS + (RepairAction.SCALE_UP,)
    for rule_id in ("host-disk-space", "host-out-of-inodes", "kube-persistent-volume-filling",
                    "certificate-expiry", "cert-manager-certificate", "kube-quota", "exc-disk-full")
}


class Match(NamedTuple):
    rule: Rule
    tier: int
    why: str = ""  # one line for --explain: which signals chose this entry
    family: Family | None = None  # the technology the alert is about, when identified
    mode: Mode | None = None  # the failure mode the signals told, when identified


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


def _legacy_match(alert: Alert, candidates: tuple[Rule, ...]) -> Match | None:
    """The first hand-written rule that explains the alert, and the tier of text that matched it."""
    for tier, text in enumerate(_haystacks(alert)):
        if not text:
            continue
        for rule in candidates:
            pattern = _ONE_PATTERN.get(rule.id)
            if pattern is not None and pattern.search(text):
                return Match(rule, tier, f"hand-written rule, pattern hit in {_TIER_NAMES[tier]}")
    return None


# Each rule's patterns as one alternation (all are case-insensitive): one search per rule and tier.
_ONE_PATTERN: dict[str, re.Pattern[str]] = {
    rule.id: re.compile("|".join(f"(?:{p.pattern})" for p in rule.patterns), re.IGNORECASE)
    for rule in (*ALERT_RULES, *EXCEPTION_RULES) if rule.patterns
}


_TIER_NAMES = ("the alert name", "labels/annotations", "URLs/PromQL")


class Identified(NamedTuple):
    """What the signals say, and which signal said it (for --explain and the confidence)."""

    family: Family | None
    family_from: str
    mode: Mode | None
    mode_from: str
    resource: Resource | None = None
    resource_from: str = ""


def _family(sig: Signals, alert: Alert) -> tuple[Family | None, str]:
    """The name's first word (rules are named after their system: ThanosRule... on Prometheus
    metrics), then the exporter prefix of the metrics, then any word of name, labels, text."""
    for family in FAMILIES:
        if sig.first_word and family.pattern.search(sig.first_word):
            return family, f"name word '{sig.first_word}'"
    for metric in sig.metrics:
        if metric in NEUTRAL_METRICS:
            continue
        for family in FAMILIES:
            if metric.startswith(family.metric_prefixes):
                return family, f"metric {metric}"
    for where, text in (("name", sig.name_words), ("labels", sig.labels), ("text", sig.text)):
        if not text:
            continue
        for family in FAMILIES:
            found = family.pattern.search(text)
            if found:
                return family, f"{where} word '{found.group(0)}'"
    return None, ""


def _word(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    return found.group(0) if found else ""


def _mode(sig: Signals) -> tuple[Mode | None, str]:
    """The failure mode: a capacity forecast when the expression predicts (predict_linear) or the
    name says it will run out; otherwise the first mode the name's words tell, then the expression's
    metric words, then the summary/description (failure_modes.py, in precedence order)."""
    named = identify_mode(sig.name_words) if sig.name_words else None
    if "predict_linear" in sig.functions:
        return CAPACITY_FORECAST, "expression function 'predict_linear'"
    if FORECAST.search(sig.name_words):
        return CAPACITY_FORECAST, f"name word '{_word(FORECAST, sig.name_words)}'"
    if (named is None or named.id == "saturation") and FORECAST.search(sig.text):
        return CAPACITY_FORECAST, f"text word '{_word(FORECAST, sig.text)}'"
    for where, text in (("name", sig.name_words), ("expression", sig.metric_words()), ("text", sig.text)):
        mode = named if where == "name" else (identify_mode(text) if text else None)
        if mode is not None:
            return mode, f"{where} word '{_word(mode.pattern, text)}'"
    return None, ""


def _resource(sig: Signals) -> tuple[Resource | None, str]:
    for where, text in (("name", sig.name_words), ("expression", sig.metric_words()), ("text", sig.text)):
        found = resource_in(text) if text else None
        if found is not None:
            return found, f"{where} word '{_word(found.pattern, text)}'"
    return None, ""


def identify(alert: Alert) -> tuple[Signals, Identified]:
    sig = extract(alert)
    family, family_from = _family(sig, alert)
    mode, mode_from = _mode(sig)
    resource, resource_from = _resource(sig) if mode is not None and mode.per_resource else (None, "")
    return sig, Identified(family, family_from, mode, mode_from, resource, resource_from)


def _legacy_stands(legacy: Match, found: Identified) -> bool:
    """A hand-written rule stands when it is about the identified technology (or none is identified,
    or it is a cross-technology rule hit by the name), and, when the name tells a failure mode, it
    tells that mode too: a RabbitMQ memory alert is not answered by the story of a node down."""
    rule, family = legacy.rule, found.family
    same_technology = family is None or rule.technology == family.id or (
        legacy.tier == 0 and rule.id in UNIVERSAL_RULES) or {rule.technology, family.id} in _KIN
    if not same_technology:
        return False
    if rule.modes == ("info",):  # Watchdog and friends: the name says what they are
        return True
    if found.mode is not None and found.mode_from.startswith("name") and rule.modes:
        if found.mode.tells[0] not in rule.modes:
            return False
        named = found.resource
        if named is not None and found.resource_from.startswith("name") and rule.resources:
            return named.id in rule.resources
    return True


# Technologies whose hand-written rules speak for each other: a container is a pod's container.
_KIN = ({"kubernetes", "container"},)


def match(alert: Alert) -> Match | None:
    """The entry that explains the alert best, and the tier of evidence it rests on."""
    candidates = _candidates(alert)
    if alert.source == Source.SENTRY and _exception_type(alert):
        return _legacy_match(alert, candidates)  # exceptions: the exception rules only
    legacy = _legacy_match(alert, candidates)
    _, found = identify(alert)
    family, mode = found.family, found.mode
    if legacy is not None and _legacy_stands(legacy, found):
        return legacy._replace(family=family, mode=mode)
    if family is not None and mode is not None:
        tier = 0 if found.mode_from.startswith("name") and not found.family_from.startswith("text") else 1
        why = f"family {family.id} from {found.family_from}; mode {mode.id} from {found.mode_from}"
        if mode.per_resource:
            why += f"; resource {found.resource.id} from {found.resource_from}" if found.resource else \
                "; no resource named"
        return Match(family_kb.entry(family, mode, found.resource), tier, why, family, mode)
    if family is not None:
        return Match(family_kb.FAMILY_ONLY[family.id], 0, f"family {family.id} from {found.family_from}; "
                     "failure mode not recognised", family)
    if mode is not None:
        return Match(family_kb.mode_only(mode, found.resource), 0, f"mode {mode.id} from {found.mode_from}; "
                     "no technology recognised")
    return None


def explain(alert: Alert) -> dict[str, object]:
    """Which signals the alert carried, what they identified, and which entry won and why."""
    sig, found = identify(alert)
    legacy = _legacy_match(alert, _candidates(alert))
    won = match(alert)
    rule = won.rule if won else None
    return {
        "signals": {
            "name_words": sig.name_words,
            "metrics": sig.metrics,
            "functions": sorted(set(sig.functions)),
            "labels": sig.labels,
            "text": sig.text[:200],
        },
        "family": found.family.id if found.family else None,
        "family_from": found.family_from or None,
        "mode": found.mode.id if found.mode else None,
        "mode_from": found.mode_from or None,
        "resource": found.resource.id if found.resource else None,
        "resource_from": found.resource_from or None,
        "hand_written_rule": legacy.rule.id if legacy else None,
        "winner": rule.id if rule else "generic",
        "failure_mode": "/".join(rule.modes) if rule and rule.modes else "not recognised",
        "specific": bool(rule and rule.modes and rule.confidence >= family_kb.SPECIFIC_CONFIDENCE),
        "why": won.why if won else "no rule, family or failure mode matched: the generic analysis",
        "evidence_tier": _TIER_NAMES[won.tier] if won else None,
    }


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
    root_cause, prevention = _named(found, rule.root_cause, rule.impact, rule.prevention), rule.prevention
    times = _recurring(frequency)
    if times:
        note = f"Recurring: {times} times in 24h."
        root_cause = f"{root_cause} {note} The underlying cause has not been fixed."
        prevention = f"{note} Treat it as a problem, not an incident: {prevention}"
        if action.tier == 1:
            reason = f"{reason}. {note} Restarting only buys time; a permanent fix is needed"
    confidence = max(0.0, rule.confidence - _TIER_DISCOUNT[found.tier])
    specific = bool(rule.modes) and confidence >= family_kb.SPECIFIC_CONFIDENCE
    return Analysis(
        category=rule.category,
        root_cause=root_cause,
        impact=rule.impact,
        fix_suggestion=_target(alert) + _runbook_first(alert) + _fit_workload(alert, rule),
        prevention=prevention,
        confidence=round(confidence, 2),
        analyzed_by=RuleAnalyzer.name,
        recommended_repair=RecommendedRepair(action=action, tier=action.tier, reason=reason),
        rule_id=rule.id,
        avoid_actions=[a for a in rule.avoid or _LEGACY_AVOID.get(rule.id, ()) if a is not action],
        failure_mode=_told(found) if specific else "not recognised",
        technology=rule.technology,
        alert_says=alert_words(alert),
        alert_links=alert_links(alert),
    )


def _told(found: Match) -> str:
    """The failure mode the analysis tells: the one the signals recognised, when the rule tells it."""
    told = [m for m in (found.mode.tells if found.mode else ()) if m in found.rule.modes]
    return told[0] if told else found.rule.modes[0]


def _named(found: Match, root_cause: str, impact: str, prevention: str) -> str:
    """The root cause, led by the technology's name when the rule's text does not name it (a
    cross-technology rule such as "target down" answering for CoreDNS)."""
    family = found.family or (FAMILIES_BY_ID.get(found.rule.technology or "") if found.rule.technology else None)
    if family is None:
        return root_cause
    text = " ".join((root_cause, impact, prevention))
    if family.name.lower() in text.lower() or family.pattern.search(text):
        return root_cause
    return f"{family.name}: {root_cause}"


_WORKLOAD_MODES = frozenset({"rollout", "crashloop", "down", "scheduling", "job-failed", "config"})


def _fit_workload(alert: Alert, rule: Rule) -> str:
    """The fix with the alert's own Kubernetes object in its commands (a DaemonSet gets DaemonSet
    commands, never ``deployment/``), when the story is about a workload's pods."""
    text = rule.fix_suggestion
    if "<workload>" not in text and not (rule.technology == "kubernetes" and _WORKLOAD_MODES & set(rule.modes)):
        return text
    return shape(text, workload_of(alert, extract(alert).name_words))


def _runbook_first(alert: Alert) -> str:
    url = runbook_url(alert)
    return f"Follow the alert's runbook first: {url} . Then: " if url else ""


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
        failure_mode="not recognised",
        alert_says=alert_words(alert),
        alert_links=alert_links(alert),
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
