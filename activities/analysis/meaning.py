"""What each hand-written rule is about, in the vocabulary the failure modes use.

A rule's text tells a story: a failure mode (down, saturation of a resource, replication lag...) and
the families of fix that follow from it (free space, renew a certificate, fix the configuration...).
Writing that story down as data lets ``--explain`` say which failure mode an analysis tells, lets the
judged evaluation (tests/evaluation/) check it against the alert's own label, and keeps the mode
table (failure_modes.py) and the hand-written rules speaking one vocabulary. The vocabulary itself is
listed in failure_modes.py (``MODE_IDS``, ``FIXES``, ``RESOURCES``).

One row per rule id: (failure modes the text tells, resources it names, fix families it proposes).
A rule may tell several modes when its text covers them (a node down *or* partitioned).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["RULE_MEANINGS", "Meaning"]


class Meaning(NamedTuple):
    modes: tuple[str, ...]
    resources: tuple[str, ...]
    fixes: tuple[str, ...]


def _m(modes: str, resources: str, fixes: str) -> Meaning:
    return Meaning(tuple(modes.split()), tuple(resources.split()), tuple(fixes.split()))


RULE_MEANINGS: dict[str, Meaning] = {
    "watchdog": _m("info", "", "route"),
    "info-inhibitor": _m("info", "", "route"),
    "prometheus-target-missing": _m("down scrape", "", "restore fix-exporter"),
    "prometheus-rule-evaluation-failures": _m("errors config latency", "cpu", "fix-config tune"),
    "prometheus-rule-evaluation-slow": _m("latency saturation", "cpu", "tune add-capacity"),
    "prometheus-tsdb": _m("data-loss errors", "", "protect-data free-space"),
    "prometheus-notification-queue": _m("errors down backlog", "", "dependency fix-config"),
    "prometheus-config-reload": _m("config", "", "fix-config"),
    "prometheus-restarts": _m("crashloop", "", "restore"),
    "prometheus-remote-write": _m("errors backlog", "", "dependency fix-config"),
    "prometheus-scrape-problems": _m("scrape quota latency errors", "", "fix-config fix-exporter"),
    "alertmanager-failed-to-send": _m("errors", "", "dependency fix-config"),
    "alertmanager-config": _m("config skew", "", "fix-config align"),
    "alertmanager-cluster": _m("cluster down crashloop", "", "quorum restore"),
    "cert-manager-certificate": _m("cert-expiry", "", "renew-cert fix-config"),
    "certificate-expiry": _m("cert-expiry", "", "renew-cert"),
    "postgres-down": _m("down", "", "restore"),
    "postgres-connections": _m("saturation", "connections", "find-consumer add-capacity"),
    "postgres-replication": _m("replication", "", "fix-replication"),
    "postgres-deadlocks": _m("errors saturation", "", "fix-code tune"),
    "postgres-slow-queries": _m("latency", "", "tune find-consumer"),
    "postgres-vacuum": _m("maintenance", "", "tune"),
    "mysql-down": _m("down crashloop", "", "restore"),
    "mysql-replication": _m("replication", "", "fix-replication"),
    "mysql-connections": _m("saturation", "connections threads", "find-consumer add-capacity"),
    "mysql-slow-queries": _m("latency", "", "tune find-consumer"),
    "redis-down": _m("down", "", "restore"),
    "redis-memory": _m("saturation", "memory", "find-consumer add-capacity"),
    "redis-evictions": _m("saturation", "memory", "add-capacity find-consumer"),
    "redis-connections": _m("saturation", "connections", "find-consumer add-capacity"),
    "redis-replication": _m("replication", "", "fix-replication"),
    "redis-persistence": _m("backup", "", "backup free-space"),
    "elasticsearch-cluster": _m("cluster data-loss", "", "protect-data quorum"),
    "kafka-consumer-lag": _m("backlog", "", "consumers"),
    "kafka-under-replicated": _m("data-loss replication", "", "protect-data restore"),
    "kafka-offline-partitions": _m("data-loss down", "", "restore protect-data"),
    "rabbitmq-queue-backlog": _m("backlog", "", "consumers"),
    "rabbitmq-node": _m("down cluster", "", "restore quorum"),
    "nats": _m("backlog cluster", "", "consumers quorum"),
    "otel-collector": _m("errors data-loss", "", "dependency fix-config"),
    "awoooi-pipeline": _m("down errors security", "", "restore dependency security"),
    "traces-missing": _m("nodata down", "", "telemetry restore"),
    "tracing-backend": _m("saturation errors", "", "add-capacity"),
    "kube-pod-crashlooping": _m("crashloop", "", "restore"),
    "kube-image-pull": _m("rollout config", "", "rollout fix-config"),
    "kube-container-oomkilled": _m("saturation crashloop", "memory", "add-capacity find-consumer"),
    "kube-container-waiting": _m("down config", "", "restore fix-config"),
    "kube-pod-unschedulable": _m("scheduling", "", "schedule"),
    "kube-pod-not-ready": _m("down", "", "restore"),
    "kube-rollout-stuck": _m("rollout", "", "rollout"),
    "kube-hpa-maxed-out": _m("quota", "", "quota add-capacity"),
    "kube-replicas-mismatch": _m("rollout", "", "rollout"),
    "kube-daemonset-scheduling": _m("scheduling rollout", "", "schedule rollout"),
    "kube-job-failed": _m("job-failed", "", "rerun-job"),
    "kube-node-not-ready": _m("down", "", "restore"),
    "kube-node-pressure": _m("saturation", "memory disk pids", "find-consumer add-capacity"),
    "kube-persistent-volume-filling": _m("saturation capacity-forecast", "disk inodes", "free-space"),
    "kube-persistent-volume-errors": _m("provisioning", "", "storage"),
    "kube-overcommit": _m("saturation", "cpu memory", "add-capacity rightsize"),
    "kube-quota": _m("quota", "", "quota"),
    "kube-control-plane": _m("down", "", "restore"),
    "cpu-throttling": _m("saturation", "cpu", "add-capacity find-consumer"),
    "container-memory-high": _m("saturation", "memory", "find-consumer add-capacity"),
    "container-cpu-high": _m("saturation", "cpu", "add-capacity find-consumer"),
    "container-restarts": _m("crashloop", "", "restore"),
    "host-underutilized": _m("underutilized", "", "rightsize"),
    "host-hardware-temperature": _m("hardware", "", "hardware"),
    "host-disk-hardware": _m("hardware data-loss", "", "hardware protect-data"),
    "host-clock-skew": _m("clock", "", "sync-clock"),
    "host-oom-kill": _m("saturation", "memory", "find-consumer add-capacity"),
    "host-disk-io": _m("saturation latency", "disk-io", "find-consumer add-capacity"),
    "host-out-of-inodes": _m("saturation", "inodes", "free-space"),
    "host-disk-space": _m("saturation", "disk", "free-space"),
    "host-memory": _m("saturation", "memory", "find-consumer add-capacity"),
    "host-cpu": _m("saturation", "cpu", "find-consumer add-capacity"),
    "host-load": _m("saturation", "cpu disk-io", "find-consumer add-capacity"),
    "host-network-errors": _m("errors", "", "network hardware"),
    "host-conntrack": _m("saturation", "conntrack", "add-capacity find-consumer"),
    "host-file-descriptors": _m("saturation", "fds", "add-capacity find-consumer"),
    "host-systemd-service": _m("down crashloop", "", "restore"),
    "blackbox-probe-failed": _m("down errors", "", "restore network"),
    "target-down": _m("down scrape", "", "restore fix-exporter"),
    "http-4xx-rate": _m("errors security", "", "investigate security"),
    "http-error-rate": _m("errors", "", "investigate dependency"),
    "http-latency": _m("latency", "", "investigate add-capacity"),
}
