"""The kind of Kubernetes workload an alert is about, and the commands that fit it.

A DaemonSet has no ReplicaSets and a StatefulSet updates one ordinal at a time, so
``kubectl rollout status deployment/...`` is the wrong first command for them. Knowledge-base texts
write ``<workload>`` where the object goes; :func:`shape` puts in the alert's own object
(``daemonset/node-exporter -n monitoring``) and adds what is particular to that kind.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from core.models import Alert

__all__ = ["Workload", "shape", "workload_of"]


class Workload(NamedTuple):
    kind: str  # deployment, statefulset, daemonset, job, cronjob
    name: str
    namespace: str

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name} -n {self.namespace}"


# (kind, the label kube-state-metrics puts its name in, the alert-name words that say the kind)
_KINDS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("daemonset", "daemonset", re.compile(r"\bdaemon ?sets?\b", re.IGNORECASE)),
    ("statefulset", "statefulset", re.compile(r"\bstateful ?sets?\b", re.IGNORECASE)),
    ("cronjob", "cronjob", re.compile(r"\bcron ?jobs?\b", re.IGNORECASE)),
    ("job", "job_name", re.compile(r"\bjobs?\b", re.IGNORECASE)),
    ("deployment", "deployment", re.compile(r"\bdeployments?\b", re.IGNORECASE)),
)

_CHECKS = {
    "deployment": "A Deployment rolls out through ReplicaSets: `kubectl get rs -n {ns} -l <selector>` shows the old "
                  "and new one; `kubectl rollout undo deployment/{name} -n {ns}` goes back.",
    "statefulset": "A StatefulSet replaces pods one ordinal at a time, highest first, and waits for each to be "
                   "Ready: find the stuck ordinal (`kubectl get pods -n {ns} -l <selector> -o wide`), its "
                   "PersistentVolumeClaim and readiness, and the updateStrategy partition; "
                   "`kubectl rollout undo statefulset/{name} -n {ns}` restores the previous revision.",
    "daemonset": "A DaemonSet runs one pod per eligible node: compare desired, current, updated and available "
                 "(`kubectl get daemonset {name} -n {ns}`), find the nodes without a ready pod "
                 "(`kubectl get pods -n {ns} -l <selector> -o wide`), and check their taints, tolerations and "
                 "the rollingUpdate maxUnavailable.",
    "job": "`kubectl describe job/{name} -n {ns}` (backoffLimit, activeDeadlineSeconds, events) and "
           "`kubectl logs job/{name} -n {ns}`; delete the failed job once understood.",
    "cronjob": "`kubectl get cronjob {name} -n {ns}` (suspend, last schedule) and `kubectl get jobs -n {ns}` for "
               "its runs; once fixed, run it by hand: `kubectl create job --from=cronjob/{name} {name}-manual -n {ns}`.",
}
_GENERIC = "<kind>/<name> -n <ns>"


def workload_of(alert: Alert, name_words: str) -> Workload | None:
    """The workload named by the alert's labels (kube-state-metrics), else by its name's words."""
    namespace = alert.labels.get("namespace") or "<ns>"
    for kind, label, _ in _KINDS:
        if alert.labels.get(label):
            return Workload(kind, alert.labels[label], namespace)
    for kind, _, words in _KINDS:
        if words.search(name_words):
            return Workload(kind, "<name>", namespace)
    return None


def shape(text: str, workload: Workload | None) -> str:
    """``text`` with ``<workload>`` filled in and the kind's own checks added, when the kind is known."""
    if workload is None:
        return text.replace("<workload>", _GENERIC)
    checks = _CHECKS[workload.kind].format(name=workload.name, ns=workload.namespace)
    return f"{text.replace('<workload>', workload.ref)} {checks}"
