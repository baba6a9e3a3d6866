"""Signals, technology families and failure modes (issue 10), and `awoooi analyze --explain`."""

from __future__ import annotations

import io
import json

import pytest

from activities.analysis import RuleAnalyzer
from activities.analysis.family_kb import COMPOSED_RULES
from activities.analysis.rules import explain, match
from activities.analysis.signals import metrics_in, split_words
from core.models import Alert, AlertStatus, Link, RepairAction, Source
from starter.analyze_cli import analyze_stream

analyzer = RuleAnalyzer()


def alert(name: str, expr: str = "", **annotations: str) -> Alert:
    links = [Link(title="Source", url=f"http://p:9090/graph?g0.expr={expr}")] if expr else []
    return Alert(source=Source.ALERTMANAGER, fingerprint="fp-" + name, status=AlertStatus.FIRING, title=name,
                 labels={"alertname": name}, annotations=annotations, links=links)


def test_name_words() -> None:
    assert split_words("HostOutOfDiskSpace") == ["host", "out", "of", "disk", "space"]
    assert split_words("etcdGRPCRequestsSlow") == ["etcd", "grpc", "requests", "slow"]
    assert split_words("kafka_consumer_lag") == ["kafka", "consumer", "lag"]
    assert split_words("Redis内存使用率过高") == ["redis", "内存使用率过高"]


def test_metric_names_from_promql() -> None:
    metrics, functions = metrics_in(
        'sum by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) / on(instance) node_load1 > 2'
    )
    assert metrics == ["node_cpu_seconds_total", "node_load1"]
    assert "rate" in functions


async def test_unknown_alert_of_a_known_family_gets_its_knowledge() -> None:
    # Nobody wrote a rule for this: the expression says Cassandra, the name says latency.
    analysis = await analyzer.analyze(alert("CassandraReadsSlow", "cassandra_table_read_latency_seconds+%3E+1"))
    assert analysis.rule_id == "cassandra-latency"
    assert "nodetool" in analysis.fix_suggestion
    assert 0.5 <= analysis.confidence < 0.8


async def test_family_from_the_expression_when_the_name_says_nothing() -> None:
    analysis = await analyzer.analyze(alert("Alert17", "ceph_osd_up+%3D%3D+0"))
    assert analysis.rule_id == "ceph-down"
    assert analysis.category == "availability"


async def test_chinese_text_gives_the_mode() -> None:
    analysis = await analyzer.analyze(alert("规则42", "minio_cluster_capacity_usable_free_bytes+%3C+1e9",
                                            summary="MinIO 存储空间不足"))
    assert analysis.rule_id == "minio-saturation-disk"
    assert RepairAction.RESTART_POD in analysis.avoid_actions
    assert analysis.recommended_repair.action is not RepairAction.RESTART_POD


async def test_confidence_says_how_specific_the_match_was() -> None:
    full = await analyzer.analyze(alert("MinioDiskFull", "minio_cluster_capacity_usable_free_bytes"))
    family_only = await analyzer.analyze(alert("MinioThing"))
    mode_only = await analyzer.analyze(alert("FrobnicatorFlapping"))
    assert (family_only.rule_id, mode_only.rule_id) == ("minio-other", "mode-crashloop")
    assert full.confidence > family_only.confidence > mode_only.confidence > 0.2


async def test_truly_unknown_stays_generic() -> None:
    assert (await analyzer.analyze(alert("FrobnicatorWobbly"))).rule_id == "generic"


def test_composed_entries_are_well_formed() -> None:
    ids = [r.id for r in COMPOSED_RULES]
    assert len(ids) == len(set(ids))
    for rule in COMPOSED_RULES:
        assert rule.root_cause and rule.fix_suggestion and 0 < rule.confidence < 0.8
        assert rule.action not in rule.avoid


def test_explain_names_signals_and_winner() -> None:
    why = explain(alert("KafkaBrokerLagging", "kafka_consumergroup_lag+%3E+10"))
    assert why["family"] == "kafka" and why["mode"] == "replication"
    assert why["signals"]["metrics"] == ["kafka_consumergroup_lag"]  # type: ignore[index]
    found = match(alert("KafkaBrokerLagging", "kafka_consumergroup_lag+%3E+10"))
    assert found is not None and why["winner"] == found.rule.id


async def test_analyze_cli_explain() -> None:
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "ZfsPoolDegraded"}, "annotations": {},
                        "generatorURL": "http://p:9090/graph?g0.expr=node_zfs_zpool_state"}]}
    out, err = io.StringIO(), io.StringIO()
    assert await analyze_stream(io.StringIO(json.dumps(body)), out, err, explain=True) == 0
    line = json.loads(out.getvalue())
    assert line["explain"]["family"] == "zfs"
    assert line["explain"]["winner"] == line["analysis"]["rule_id"]


# ------------------------------------------------------------------ failure modes, not only technologies


@pytest.mark.parametrize(("name", "expr", "mode", "rule_id"), [
    ("PostgresqlBackupStale", "", "backup", "postgres-backup"),
    ("EtcdMembersVersionMismatch", "", "skew", "etcd-skew"),
    ("BlackboxConfigurationReloadFailure", "", "config", "blackbox-config"),
    ("CloudwatchExporterSlowCollection", "", "scrape", "cloud-scrape"),
    ("MysqlExporterScrapeError", "", "scrape", "mysql-scrape"),
    ("HostDiskWillFillIn24Hours", "", "capacity-forecast", "node-capacity-forecast-disk"),
    ("CassandraDataVolumeFilling", "predict_linear(cassandra_storage_load_bytes[6h],86400)",
     "capacity-forecast", "cassandra-capacity-forecast-disk"),
    ("VaultTlsCertificateExpiringSoon", "", "cert-expiry", "certificate-expiry"),
    ("DynamodbThrottledRequests", "", "quota", "cloud-quota"),
    ("CephPgInconsistent", "", "data-loss", "ceph-data-loss"),
    ("CassandraReplicationLag", "", "replication", "cassandra-replication"),
    ("ConsulClusterQuorumLost", "", "cluster", "consul-cluster"),
    ("PulsarTopicBacklogHigh", "", "backlog", "pulsar-backlog"),
    ("CoreDNSForwardErrorsHigh", "", "errors", "coredns-upstream"),
    ("ZookeeperClockSkew", "", "clock", "zookeeper-clock"),
    ("IpmiPowerSupplyFailed", "", "hardware", "hardware-hardware"),
    ("MongodbConnectionsHigh", "", "saturation", "mongodb-saturation-connections"),
    ("JvmHeapUsageHigh", "", "saturation", "jvm-saturation-memory"),
    ("MinioDiskUsageHigh", "", "saturation", "minio-saturation-disk"),
    ("ApacheWorkersBusy", "", "saturation", "apache-saturation-threads"),
    ("HaproxyBackendLatencyHigh", "", "latency", "haproxy-latency"),
])
async def test_the_failure_mode_is_recognised(name: str, expr: str, mode: str, rule_id: str) -> None:
    analysis = await analyzer.analyze(alert(name, expr.replace("+", "%2B")))
    assert (analysis.failure_mode, analysis.rule_id) == (mode, rule_id)
    assert analysis.confidence >= 0.5


async def test_a_proxys_errors_and_a_databases_latency_are_fixed_where_they_come_from() -> None:
    proxy = await analyzer.analyze(alert("EnvoyClusterErrorsHigh"))
    assert proxy.rule_id == "envoy-errors" and "upstream" in proxy.fix_suggestion
    database = await analyzer.analyze(alert("MongodbQueryLatencyHigh"))
    assert database.rule_id == "mongodb-latency" and "slow statements" in database.fix_suggestion
    queue = await analyzer.analyze(alert("NatsConsumerBacklog"))
    assert "consumers" in queue.fix_suggestion and "NATS" in queue.root_cause


async def test_a_known_technology_with_an_unknown_failure_mode_says_so() -> None:
    analysis = await analyzer.analyze(alert("MinioThing", summary="MinIO reports a thing"))
    assert analysis.rule_id == "minio-other"
    assert analysis.root_cause.startswith("Failure mode not recognised")
    assert "MinIO" in analysis.root_cause + analysis.impact and "mc admin info" in analysis.fix_suggestion
    assert analysis.failure_mode == "not recognised" and analysis.confidence < 0.5
    assert analysis.recommended_repair.action is RepairAction.MANUAL_INTERVENTION


async def test_the_technology_is_named_even_by_a_cross_technology_rule() -> None:
    analysis = await analyzer.analyze(alert("CoreDNSDown", "absent(up{job=\"coredns\"}+==+1)"))
    assert analysis.failure_mode == "down" and "CoreDNS" in analysis.root_cause


def _workload(name: str, **labels: str) -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint="fp-" + name, status=AlertStatus.FIRING, title=name,
                 labels={"alertname": name, "namespace": "prod", **labels})


@pytest.mark.parametrize(("name", "labels", "wanted", "unwanted"), [
    ("KubeDaemonSetRolloutStuck", {"daemonset": "node-exporter"}, "daemonset/node-exporter -n prod",
     ("deployment/", "ReplicaSet")),
    ("KubeStatefulSetReplicasMismatch", {"statefulset": "postgres"}, "statefulset/postgres -n prod",
     ("deployment/", "ReplicaSet")),
    ("KubeStatefulSetUpdateNotRolledOut", {}, "statefulset/<name> -n prod", ("deployment/",)),
    ("KubeJobFailed", {"job_name": "export-1"}, "job/export-1 -n prod", ("deployment/",)),
    ("KubernetesCronjobSuspended", {"cronjob": "nightly"}, "--from=cronjob/nightly", ("deployment/",)),
    ("KubeDeploymentRolloutStuck", {"deployment": "api"}, "deployment/api -n prod", ("daemonset/", "statefulset/")),
])
async def test_the_workload_kind_shapes_the_commands(name: str, labels: dict[str, str], wanted: str,
                                                     unwanted: tuple[str, ...]) -> None:
    fix = (await analyzer.analyze(_workload(name, **labels))).fix_suggestion
    assert wanted in fix
    assert not [word for word in unwanted if word in fix], fix


async def test_explain_says_which_failure_mode_matched_and_why() -> None:
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "KubePersistentVolumeFillingUp",
                                                       "namespace": "data", "persistentvolumeclaim": "pg-0"},
                        "annotations": {"description": "expected to fill up within four days"},
                        "generatorURL": "http://p:9090/graph?g0.expr=predict_linear(kubelet_volume_stats_available_bytes"
                                        "[6h],+345600)+<+0"}]}
    out, err = io.StringIO(), io.StringIO()
    assert await analyze_stream(io.StringIO(json.dumps(body)), out, err, explain=True) == 0
    line = json.loads(out.getvalue())
    why = line["explain"]
    assert (why["mode"], why["mode_from"]) == ("capacity-forecast", "expression function 'predict_linear'")
    assert why["failure_mode"] == "saturation/capacity-forecast" and why["specific"] is True
    assert line["analysis"]["failure_mode"] == "capacity-forecast"
    critical = {"alerts": [{**body["alerts"][0], "annotations": {"description": "only 2% free"},
                            "generatorURL": "http://p:9090/graph?g0.expr=kubelet_volume_stats_available_bytes+<+1"}]}
    out = io.StringIO()
    await analyze_stream(io.StringIO(json.dumps(critical)), out, err, explain=True)
    assert json.loads(out.getvalue())["explain"]["mode"] == "saturation"
