"""Tests for the rule knowledge base and RuleAnalyzer (Analysis v1).

The real fixture payloads must get a sensible, non-generic analysis; every rule must be reachable
through its own examples; unknown alerts must get an honest generic answer, never a confident guess.
Alerts are built by hand from the fixtures' labels/annotations so these tests do not depend on the
parsers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from activities.analysis import RuleAnalyzer
from activities.analysis.knowledge_base import ALERT_RULES, EXCEPTION_RULES, RULES, Rule
from activities.analysis.rules import match
from core.models import (
    ACTION_TIERS,
    Alert,
    AlertStatus,
    Frequency,
    Link,
    RepairAction,
    SentryRef,
    Source,
)

FIXTURES = Path(__file__).parent / "fixtures"
analyzer = RuleAnalyzer()


def alert_from(
    name: str,
    *,
    source: Source = Source.ALERTMANAGER,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    status: AlertStatus = AlertStatus.FIRING,
    links: list[Link] | None = None,
) -> Alert:
    return Alert(
        source=source,
        fingerprint="fp-" + str(abs(hash(name))),
        status=status,
        title=name,
        labels={"alertname": name, **(labels or {})},
        annotations=annotations or {},
        links=links or [],
    )


def sentry_alert(exc_type: str, value: str = "boom", culprit: str = "app.views in handler") -> Alert:
    return Alert(
        source=Source.SENTRY,
        fingerprint="sentry-" + exc_type,
        status=AlertStatus.FIRING,
        title=f"{exc_type}: {value}",
        labels={"alertname": exc_type},
        annotations={"description": value},
        sentry=SentryRef(exception_type=exc_type, exception_value=value, culprit=culprit),
    )


def fixture_alerts() -> list[tuple[str, Alert]]:
    """Every alert inside the Alertmanager/SigNoz fixtures, as an Alert built by hand."""
    out: list[tuple[str, Alert]] = []
    paths = sorted(FIXTURES.glob("alertmanager_*.json")) + [FIXTURES / "signoz_alert.json"]
    for path in paths:
        body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        source = Source.SIGNOZ if path.name.startswith("signoz") else Source.ALERTMANAGER
        for i, raw in enumerate(body["alerts"]):
            labels: dict[str, str] = raw.get("labels") or {}
            gen = raw.get("generatorURL") or ""
            alert = Alert(
                source=source,
                fingerprint=raw.get("fingerprint") or f"{path.stem}-{i}",
                status=AlertStatus(raw.get("status", body["status"])),
                title=labels.get("alertname", "unnamed"),
                labels=labels,
                annotations=raw.get("annotations") or {},
                links=[Link(title="Source", url=gen)] if gen.startswith("http") else [],
            )
            out.append((f"{path.stem}[{i}]", alert))
    return out


EXPECTED_FIXTURE_CATEGORY = {
    "主机CPU使用率": ("cpu", "host-cpu"),
    "High CPU Temperature": ("hardware", "host-hardware-temperature"),
    "Grafana进程存活": ("availability", "target-down"),
    "Deployment": ("kubernetes", "kube-replicas-mismatch"),
    "TargetDown": ("availability", "target-down"),
    "DiskRunningFull": ("disk", "host-disk-space"),
}


@pytest.mark.parametrize("label,alert", fixture_alerts(), ids=lambda v: v if isinstance(v, str) else "")
async def test_fixture_alerts_get_specific_analysis(label: str, alert: Alert) -> None:
    analysis = await analyzer.analyze(alert)
    category, rule_id = EXPECTED_FIXTURE_CATEGORY[alert.alertname]
    assert analysis.rule_id == rule_id, label
    assert analysis.category == category
    assert analysis.analyzed_by == "rules"
    assert analysis.confidence >= 0.5
    assert analysis.recommended_repair.tier == analysis.recommended_repair.action.tier


def test_fixtures_were_found() -> None:
    names = {a.alertname for _, a in fixture_alerts()}
    assert names == set(EXPECTED_FIXTURE_CATEGORY)


async def test_fixture_match_does_not_need_generator_url() -> None:
    for _, alert in fixture_alerts():
        bare = alert.model_copy(update={"links": []})
        assert (await analyzer.analyze(bare)).rule_id != "generic"


ALERT_TABLE: list[tuple[str, str, int]] = [
    ("KubePodCrashLooping", "kubernetes", 1),
    ("KubePodNotReady", "kubernetes", 1),
    ("KubeDeploymentReplicasMismatch", "kubernetes", 4),
    ("KubeContainerWaiting", "kubernetes", 4),
    ("KubeContainerOOMKilled", "memory", 2),
    ("OOMKilled", "memory", 2),
    ("KubeHpaMaxedOut", "kubernetes", 2),
    ("KubeNodeNotReady", "kubernetes", 4),
    ("KubeNodeUnreachable", "kubernetes", 4),
    ("KubePersistentVolumeFillingUp", "disk", 4),
    ("KubeJobFailed", "kubernetes", 4),
    ("KubeCPUOvercommit", "kubernetes", 4),
    ("KubeDeploymentRolloutStuck", "kubernetes", 3),
    ("HostHighCpuLoad", "cpu", 4),
    ("NodeHighCPU", "cpu", 4),
    ("CPUThrottlingHigh", "cpu", 2),
    ("HostOutOfMemory", "memory", 4),
    ("NodeMemoryHigh", "memory", 4),
    ("HostOutOfDiskSpace", "disk", 4),
    ("NodeFilesystemSpaceFillingUp", "disk", 4),
    ("HostOutOfInodes", "disk", 4),
    ("NodeFilesystemFilesFillingUp", "disk", 4),
    ("HostHighLoad", "cpu", 4),
    ("NodeLoadHigh", "cpu", 4),
    ("HostOomKillDetected", "memory", 4),
    ("HostClockSkew", "time", 4),
    ("HostNetworkReceiveErrors", "network", 4),
    ("InstanceDown", "availability", 4),
    ("HighErrorRate", "http", 3),
    ("ErrorBudgetBurn", "http", 3),
    ("HighLatency", "latency", 2),
    ("OtelCollectorDroppedSpans", "tracing", 3),
    ("PostgresqlDown", "database", 4),
    ("PostgresqlTooManyConnections", "database", 3),
    ("PostgresqlReplicationLag", "database", 4),
    ("PostgresqlDeadLocks", "database", 4),
    ("MysqlDown", "database", 4),
    ("MysqlSlaveSqlThreadNotRunning", "database", 4),
    ("MysqlTooManyConnections", "database", 3),
    ("RedisDown", "cache", 4),
    ("RedisRejectedConnections", "cache", 3),
    ("RedisOutOfMemory", "cache", 2),
    ("RedisReplicationBroken", "cache", 4),
    ("KafkaConsumersGroupLag", "queue", 2),
    ("KafkaUnderReplicatedPartitions", "queue", 4),
    ("KafkaOfflinePartitions", "queue", 4),
    ("RabbitmqTooManyMessagesInQueue", "queue", 2),
    ("SSLCertExpiringSoon", "certificate", 3),
    ("CertManagerCertNotReady", "certificate", 3),
    ("PrometheusTargetMissing", "availability", 4),
    ("PrometheusRuleEvaluationFailures", "monitoring", 3),
    ("PrometheusTSDBCompactionsFailing", "monitoring", 4),
    ("PrometheusNotificationQueueRunningFull", "monitoring", 3),
    ("PrometheusConfigReloadFailure", "monitoring", 3),
    ("PrometheusTooManyRestarts", "monitoring", 4),
    ("AlertmanagerFailedToSendAlerts", "monitoring", 3),
    ("AlertmanagerConfigInconsistent", "monitoring", 3),
    ("AlertmanagerClusterDown", "monitoring", 4),
    ("Watchdog", "monitoring", 4),
]


@pytest.mark.parametrize("name,category,tier", ALERT_TABLE)
async def test_alert_table(name: str, category: str, tier: int) -> None:
    analysis = await analyzer.analyze(alert_from(name))
    assert analysis.category == category
    assert analysis.recommended_repair.tier == tier
    assert analysis.rule_id not in (None, "generic")


async def test_watchdog_says_it_always_fires() -> None:
    analysis = await analyzer.analyze(alert_from("Watchdog"))
    assert "expected to always fire" in analysis.root_cause
    assert analysis.recommended_repair.action == RepairAction.NOTIFY_TEAM
    assert analysis.confidence >= 0.9


async def test_matching_from_annotations_and_promql() -> None:
    by_summary = alert_from("CustomAlert42", annotations={"summary": "Kubernetes pod crash looping"})
    assert (await analyzer.analyze(by_summary)).rule_id == "kube-pod-crashlooping"
    by_promql = alert_from(
        "node-alert-7",
        links=[Link(title="Source", url="http://p:9090/graph?g0.expr=node_load15+%3E+4")],
    )
    analysis = await analyzer.analyze(by_promql)
    assert analysis.rule_id == "host-load"
    # weaker evidence (a URL), lower confidence than a name match
    assert analysis.confidence < (await analyzer.analyze(alert_from("HostHighLoad"))).confidence


async def test_name_beats_description() -> None:
    alert = alert_from("RedisDown", annotations={"description": "replicas mismatch after deploy"})
    assert (await analyzer.analyze(alert)).rule_id == "redis-down"


async def test_unknown_alert_is_generic_and_humble() -> None:
    alert = alert_from("FrobnicatorWobbly", annotations={"description": "the frobnicator wobbles"})
    analysis = await analyzer.analyze(alert)
    assert analysis.rule_id == "generic"
    assert analysis.category == "unknown"
    assert analysis.confidence <= 0.3
    assert analysis.analyzed_by == "rules"
    assert analysis.recommended_repair.action == RepairAction.MANUAL_INTERVENTION
    assert analysis.recommended_repair.tier == 4
    assert "No knowledge-base rule matched" in analysis.root_cause
    assert "the frobnicator wobbles" in analysis.root_cause


async def test_host_names_in_labels_do_not_match() -> None:
    alert = alert_from("FrobnicatorWobbly", labels={"instance": "k8s-node1:9100", "namespace": "redis"})
    assert (await analyzer.analyze(alert)).rule_id == "generic"


@pytest.mark.parametrize(
    "exc_type,rule_id,category",
    [
        ("ReferenceError", "exc-reference-error", "application"),
        ("TypeError", "exc-type-error", "application"),
        ("NullPointerException", "exc-null-reference", "application"),
        ("AttributeError", "exc-attribute-error", "application"),
        ("KeyError", "exc-key-error", "application"),
        ("ConnectionRefusedError", "exc-connection", "network"),
        ("ReadTimeout", "exc-timeout", "network"),
        ("OperationalError", "exc-database-operational", "database"),
        ("OutOfMemoryError", "exc-out-of-memory", "memory"),
        ("PermissionError", "exc-permission", "security"),
        ("ValidationError", "exc-validation-error", "application"),
        ("ModuleNotFoundError", "exc-import-error", "application"),
        ("JSONDecodeError", "exc-json-decode", "application"),
    ],
)
async def test_sentry_exceptions(exc_type: str, rule_id: str, category: str) -> None:
    analysis = await analyzer.analyze(sentry_alert(exc_type))
    assert analysis.rule_id == rule_id
    assert analysis.category == category


async def test_sentry_reference_error_fixture_shape() -> None:
    alert = sentry_alert("ReferenceError", "blooopy is not defined", "?(runner)")
    analysis = await analyzer.analyze(alert)
    assert analysis.category in ("javascript", "application")
    assert analysis.rule_id == "exc-reference-error"


async def test_type_error_message_refines_rule() -> None:
    alert = sentry_alert("TypeError", "Cannot read properties of undefined (reading 'id')")
    assert (await analyzer.analyze(alert)).rule_id == "exc-null-reference"


async def test_unknown_sentry_exception_is_generic_application() -> None:
    alert = sentry_alert("Exception", "Custom exception!", "__main__ in <module>")
    analysis = await analyzer.analyze(alert)
    assert analysis.rule_id == "generic-exception"
    assert analysis.category == "application"
    assert 0.3 < analysis.confidence <= 0.5
    assert analysis.recommended_repair.action == RepairAction.CREATE_ISSUE
    assert analysis.recommended_repair.tier == 4
    assert "Exception" in analysis.root_cause and "__main__ in <module>" in analysis.root_cause


async def test_sentry_metric_alert_uses_alert_rules() -> None:
    alert = Alert(
        source=Source.SENTRY, fingerprint="m", status=AlertStatus.RESOLVED, title="Too many errors"
    )
    assert (await analyzer.analyze(alert)).rule_id == "http-error-rate"


async def test_exception_rules_do_not_fire_on_metric_alerts() -> None:
    # "Timeout" in an Alertmanager alert name is not a Sentry ReadTimeout.
    analysis = await analyzer.analyze(alert_from("BatchTimeoutSomething"))
    assert not (analysis.rule_id or "").startswith("exc-")


async def test_recurring_tier1_keeps_action_and_asks_for_permanent_fix() -> None:
    alert = alert_from("KubePodCrashLooping", labels={"namespace": "shop", "pod": "api-1"})
    freq = Frequency(count=12, last_1h=3, last_24h=7)
    analysis = await analyzer.analyze(alert, freq)
    assert analysis.recommended_repair.action == RepairAction.RESTART_POD
    assert "recurring: 7 times in 24h" in analysis.root_cause.lower()
    assert "recurring: 7 times in 24h" in analysis.prevention.lower()
    assert "permanent fix" in analysis.recommended_repair.reason
    assert "pod=api-1" in analysis.fix_suggestion
    quiet = await analyzer.analyze(alert, Frequency(count=2, last_24h=2))
    assert "recurring" not in quiet.root_cause.lower()


async def test_resolved_is_analysed_like_firing() -> None:
    firing = await analyzer.analyze(alert_from("HostOutOfDiskSpace"))
    resolved = await analyzer.analyze(alert_from("HostOutOfDiskSpace", status=AlertStatus.RESOLVED))
    assert firing == resolved


async def test_database_down_in_kubernetes_restarts_pod() -> None:
    outside = await analyzer.analyze(alert_from("PostgresqlDown", labels={"instance": "db1:9187"}))
    assert outside.recommended_repair.action == RepairAction.MANUAL_INTERVENTION
    inside = await analyzer.analyze(
        alert_from("PostgresqlDown", labels={"namespace": "data", "pod": "pg-0"})
    )
    assert inside.recommended_repair.action == RepairAction.RESTART_POD
    assert inside.recommended_repair.tier == 1


async def test_honest_actions_for_host_problems() -> None:
    for name in ("HostOutOfDiskSpace", "KubeNodeNotReady"):
        action = (await analyzer.analyze(alert_from(name))).recommended_repair.action
        assert action.tier == 4
    oom = await analyzer.analyze(alert_from("KubeContainerOOMKilled"))
    assert oom.recommended_repair.action == RepairAction.INCREASE_MEMORY


def test_rule_ids_unique() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert not {"generic", "generic-exception"} & set(ids)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_well_formed(rule: Rule) -> None:
    texts = (rule.category, rule.root_cause, rule.impact, rule.fix_suggestion, rule.prevention, rule.reason)
    for text in texts:
        assert text.strip()
    assert 0.0 <= rule.confidence <= 1.0
    assert 0.5 <= rule.confidence or rule.id.endswith("-other")
    assert rule.action in ACTION_TIERS
    assert rule.action_in_k8s is None or rule.action_in_k8s in ACTION_TIERS
    assert rule.patterns and rule.examples


def _example_alert(rule: Rule, example: str) -> Alert:
    if rule.kind == "exception":
        exc_type, _, value = example.partition(":")
        return sentry_alert(exc_type.strip(), value.strip() or "boom")
    return alert_from(example)


@pytest.mark.parametrize(
    "rule,example",
    [(r, e) for r in RULES for e in r.examples],
    ids=lambda v: v.id if isinstance(v, Rule) else v,
)
async def test_every_rule_is_reachable_by_its_examples(rule: Rule, example: str) -> None:
    alert = _example_alert(rule, example)
    found = match(alert)
    assert found is not None and found.rule.id == rule.id, (example, found and found.rule.id)
    analysis = await analyzer.analyze(alert)
    assert analysis.rule_id == rule.id
    assert analysis.confidence == pytest.approx(rule.confidence)


def test_rule_sets_are_partitioned_by_kind() -> None:
    assert all(r.kind == "alert" for r in ALERT_RULES)
    assert all(r.kind == "exception" for r in EXCEPTION_RULES)
    assert 60 <= len(RULES) <= 110
