"""Judge the rule analysis against the hand-labelled evaluation set (README.md beside this file).

    .venv/bin/python tests/evaluation/evaluate.py [--part labelled|held-out|all] [--wrong]

Every alert goes through its sender's real parser and the RuleAnalyzer. Its analysis is then:

- generic: it admits it does not know the failure mode (confidence below the specific threshold, or a
  generic/family-only/mode-only entry);
- right: it is specific, one of the failure modes its text tells is one the label accepts, one of the
  fixes it proposes is one the label accepts, it names the labelled resource when the label names one
  (saturation and capacity), its technology (when it claims one) is one the label accepts, and its
  commands fit the Kubernetes workload kind (no ``deployment/`` for a DaemonSet);
- wrong: specific and not right, with the first reason.

Precision is right / (right + wrong), the share of confident stories that are right. The
technology-named rate counts, among the specific analyses of alerts about one named technology,
those whose root cause, impact or prevention names that technology.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from activities.analysis import RuleAnalyzer  # noqa: E402
from activities.analysis.family_kb import COMPOSED_RULES  # noqa: E402
from activities.analysis.knowledge_base import RULES, Rule  # noqa: E402
from core.models import Analysis  # noqa: E402
from starter.analyze_cli import alerts_in  # noqa: E402

HERE = Path(__file__).parent
SPECIFIC = 0.5  # an analysis below this confidence says it is generic
UNNAMED = {"application", "http"}  # "the service" is the technology; no product name to look for

# How an SRE would recognise each technology named in a text (word boundaries, case-insensitive).
NAMES: dict[str, str] = {
    "node": r"host|node|linux|server|machine", "windows": r"windows", "container": r"containers?|docker|cgroup",
    "kubernetes": r"kubernetes|kube\w*|pods?|deployment|statefulset|daemonset|cronjob|job|persistentvolume\w*|"
                  r"pvc|hpa|horizontalpodautoscaler|api ?server|resourcequota|quota|nodes?",
    "etcd": r"etcd", "coredns": r"core ?dns|dns", "prometheus": r"prometheus", "alertmanager": r"alertmanager",
    "thanos": r"thanos", "loki": r"loki|promtail", "grafana": r"grafana", "postgres": r"postgres\w*|pgbouncer",
    "mysql": r"mysql|maria ?db|galera|innodb", "redis": r"redis|valkey", "mongodb": r"mongo\w*",
    "elasticsearch": r"elasticsearch|opensearch", "cassandra": r"cassandra", "clickhouse": r"clickhouse",
    "memcached": r"memcached?", "kafka": r"kafka", "zookeeper": r"zoo ?keeper", "rabbitmq": r"rabbitmq",
    "nats": r"nats|jetstream", "pulsar": r"pulsar|bookkeeper|bookie", "nginx": r"nginx", "haproxy": r"haproxy",
    "traefik": r"traefik", "envoy": r"envoy|istio", "apache": r"apache|httpd", "blackbox": r"blackbox|probe",
    "ssl": r"certificates?|tls|ssl|x\.?509", "ceph": r"ceph|osds?|placement groups?", "minio": r"minio",
    "zfs": r"zfs|zpool", "gpu": r"gpus?|nvidia", "hardware": r"hardware|fans?|temperature|ipmi|smart|sensors?|disks?",
    "jvm": r"jvm|java|heap", "golang": r"go runtime|goroutines?|go gc|\bgo\b", "phpfpm": r"php(-fpm)?",
    "consul": r"consul", "vault": r"vault", "cloud": r"aws|rds|alb|elb|dynamodb|gcp|azure|cloud\w*|load balancer",
    "ci": r"jenkins|flux|argo ?cd|argo|builds?|pipelines?|gitops", "certmanager": r"cert-manager",
    "otel": r"opentelemetry|otel\w*|collector|tempo|jaeger|spans?|traces?|tracing", "mssql": r"mssql|sql server",
}
_NAMES = {k: re.compile(rf"\b(?:{v})\b", re.IGNORECASE) for k, v in NAMES.items()}
# Workload kinds: the object a command must name, and the objects it must not name instead.
_KINDS: dict[str, tuple[str, re.Pattern[str]]] = {
    "deployment": ("deployment", re.compile(r"(daemonset|statefulset)/|\bcronjob/", re.IGNORECASE)),
    "statefulset": ("statefulset", re.compile(r"deployment/|replicaset|daemonset/", re.IGNORECASE)),
    "daemonset": ("daemonset", re.compile(r"deployment/|replicaset|statefulset/", re.IGNORECASE)),
    "job": ("job", re.compile(r"deployment/|replicaset|daemonset/|statefulset/", re.IGNORECASE)),
    "cronjob": ("cronjob", re.compile(r"deployment/|replicaset|daemonset/|statefulset/", re.IGNORECASE)),
}


@dataclass
class Label:
    id: str
    technologies: tuple[str, ...]
    modes: tuple[str, ...]
    resources: tuple[str, ...]
    fixes: tuple[str, ...]
    kind: str


@dataclass
class Verdict:
    id: str
    outcome: str  # right, generic, wrong
    reason: str
    technology: str
    named: bool | None  # None: not counted (generic, or no named technology)
    rule_id: str


@dataclass
class Figures:
    n: int = 0
    right: int = 0
    generic: int = 0
    wrong: int = 0
    named: int = 0
    nameable: int = 0
    per_technology: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))

    @property
    def precision(self) -> float:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else 0.0

    def rate(self, count: int) -> float:
        return count / self.n if self.n else 0.0

    @property
    def named_rate(self) -> float:
        return self.named / self.nameable if self.nameable else 0.0


def load_labels() -> dict[str, Label]:
    labels: dict[str, Label] = {}
    for raw in (HERE / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        id_, tech, modes, resources, fixes, kind = raw.split("\t")
        labels[id_] = Label(id_, tuple(tech.split("/")), tuple(modes.split("/")),
                            () if resources == "-" else tuple(resources.split("/")),
                            tuple(fixes.split(",")), kind)
    return labels


def held_out() -> set[str]:
    lines = (HERE / "holdout.txt").read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line.strip() and not line.startswith("#")}


def alerts() -> list[tuple[str, dict]]:
    rows = [json.loads(line) for line in (HERE / "alerts.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [(row["id"], row["payload"]) for row in rows]


_RULES: dict[str, Rule] = {r.id: r for r in (*RULES, *COMPOSED_RULES)}


def rule_of(analysis: Analysis) -> Rule | None:
    return _RULES.get(analysis.rule_id or "")


def judge(label: Label, analysis: Analysis) -> Verdict:
    rule = rule_of(analysis)
    tech = label.technologies[0]
    base = {"id": label.id, "technology": tech, "rule_id": analysis.rule_id or "-"}
    if rule is None or analysis.confidence < SPECIFIC or not rule.modes:
        return Verdict(outcome="generic", reason="admits it is generic", named=None, **base)
    text = " ".join((analysis.root_cause, analysis.impact, analysis.prevention))
    named = None if tech in UNNAMED else any(_NAMES[t].search(text) for t in label.technologies if t in _NAMES)
    reason = ""
    if not set(rule.modes) & set(label.modes):
        reason = f"tells {'/'.join(rule.modes)}, the alert is {'/'.join(label.modes)}"
    elif not set(rule.fixes) & set(label.fixes):
        reason = f"proposes {'/'.join(rule.fixes)}, fitting is {','.join(label.fixes)}"
    elif label.resources and set(rule.modes) & {"saturation", "capacity-forecast"} & set(label.modes) \
            and not set(rule.resources) & set(label.resources):
        reason = f"names resource {'/'.join(rule.resources) or 'none'}, the alert is about {'/'.join(label.resources)}"
    elif rule.technology and rule.technology not in label.technologies:
        reason = f"about {rule.technology}, the alert is about {'/'.join(label.technologies)}"
    elif label.kind in _KINDS:
        word, wrong_kind = _KINDS[label.kind]
        fix = analysis.fix_suggestion
        if wrong_kind.search(fix) or word not in fix.lower():
            reason = f"commands do not fit a {label.kind}"
    outcome = "wrong" if reason else "right"
    return Verdict(outcome=outcome, reason=reason, named=named, **base)


async def verdicts(part: str = "all") -> list[Verdict]:
    labels, held, analyzer = load_labels(), held_out(), RuleAnalyzer()
    out: list[Verdict] = []
    for id_, payload in alerts():
        if (part == "labelled" and id_ in held) or (part == "held-out" and id_ not in held):
            continue
        alert = alerts_in(payload)[0]
        out.append(judge(labels[id_], await analyzer.analyze(alert)))
    return out


def figures(found: list[Verdict]) -> Figures:
    fig = Figures()
    for v in found:
        fig.n += 1
        row = fig.per_technology[v.technology]
        row[0] += 1
        if v.outcome == "right":
            fig.right += 1
            row[1] += 1
        elif v.outcome == "generic":
            fig.generic += 1
            row[2] += 1
        else:
            fig.wrong += 1
            row[3] += 1
        if v.named is not None:
            fig.nameable += 1
            fig.named += v.named
    return fig


def report(name: str, fig: Figures, per_technology: bool = True) -> str:
    lines = [f"{name}: {fig.n} alerts: precision {fig.precision:.1%} (right {fig.right}, wrong {fig.wrong}); "
             f"right {fig.rate(fig.right):.1%}, generic {fig.rate(fig.generic):.1%}, wrong {fig.rate(fig.wrong):.1%}; "
             f"technology named {fig.named_rate:.1%} ({fig.named}/{fig.nameable})"]
    if per_technology:
        lines.append(f"  {'technology':14s} {'n':>3s} {'right':>5s} {'generic':>7s} {'wrong':>5s}")
        for tech, (n, right, generic, wrong) in sorted(fig.per_technology.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {tech:14s} {n:3d} {right:5d} {generic:7d} {wrong:5d}")
    return "\n".join(lines)


async def main(parts: list[str], show_wrong: bool) -> None:
    for part in parts:
        found = await verdicts(part)
        print(report(part, figures(found)))
        if show_wrong:
            for v in found:
                if v.outcome == "wrong":
                    print(f"    WRONG {v.id} [{v.rule_id}]: {v.reason}")
        print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("labelled", "held-out", "all"), action="append")
    parser.add_argument("--wrong", action="store_true", help="list the wrong analyses and why")
    args = parser.parse_args()
    asyncio.run(main(args.part or ["labelled", "held-out"], args.wrong))
