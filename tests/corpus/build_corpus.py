"""Build tests/corpus/alert_rules.jsonl from the rule lists next to it (run once after editing them).

The rule lists are assembled by hand from the public collections people actually run: the
node-exporter, kubernetes, etcd, CoreDNS, Prometheus, Alertmanager, Thanos and Loki mixins,
kube-prometheus, awesome-prometheus-alerts (databases, brokers, proxies, storage, observability
backends, hardware, cloud exporters), plus SigNoz and Sentry alert examples and some Chinese-named
rules of the kind the seed ships. One line per rule: ``name|severity|expr|summary[|labels]``;
``@family job`` starts a family. Each rule becomes the webhook body its sender would post, so the
coverage test goes through the real parsers.

    python tests/corpus/build_corpus.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote_plus

HERE = Path(__file__).parent
SPECS = sorted(HERE.glob("rules_*.txt"))
OUT = HERE / "alert_rules.jsonl"
STARTS = "2026-11-30T10:00:00Z"


def _alertmanager(family: str, job: str, name: str, severity: str, expr: str, summary: str) -> dict:
    labels = {"alertname": name, "severity": severity, "job": job, "instance": f"10.0.3.{len(name) % 250}:9100"}
    if family in ("kubernetes", "container"):
        labels.update(namespace="prod", pod="api-6f7c9d-x2b4q", container="api")
    url = f"http://prometheus.example:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1"
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": summary, "description": f"{summary}\n  VALUE = 1\n  LABELS = {labels}"},
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": url,
        "fingerprint": hashlib.sha256(name.encode()).hexdigest()[:16],
    }
    return _group(alert, labels)


def _group(alert: dict, labels: dict) -> dict:
    return {
        "receiver": "awoooi", "status": "firing", "alerts": [alert], "groupLabels": {"alertname": labels["alertname"]},
        "commonLabels": labels, "commonAnnotations": alert["annotations"], "externalURL": "http://am:9093",
        "version": "4", "groupKey": f'{{}}:{{alertname="{labels["alertname"]}"}}', "truncatedAlerts": 0,
    }


def _extra(raw: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in raw.split(";") if pair) if raw else {}


def _signoz(name: str, severity: str, query: str, summary: str, extra: str) -> dict:
    labels = {"alertname": name, "severity": severity, "ruleId": str(int(hashlib.sha256(name.encode()).hexdigest()[:4], 16)),
              "ruleSource": "http://signoz.example:3301/alerts/edit?ruleId=7", **_extra(extra)}
    alert = {
        "status": "firing", "labels": labels,
        "annotations": {"summary": summary, "description": f"{summary}. Query: {query}"},
        "startsAt": STARTS, "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://signoz.example:3301/alerts/edit?ruleId=7",
        "fingerprint": hashlib.sha256(name.encode()).hexdigest()[:16],
    }
    return _group(alert, labels)


def _sentry(name: str, aggregate: str, summary: str, extra: str) -> dict:
    more = _extra(extra)
    rule = {"aggregate": aggregate, "dataset": more.get("dataset", "events"), "query": more.get("query", ""),
            "id": "7", "name": name, "projects": ["shop"], "time_window": 10, "triggers": []}
    return {
        "action": "critical",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "description_text": summary, "description_title": f"Critical: {name}",
            "metric_alert": {"alert_rule": rule, "id": "4", "identifier": "1", "projects": ["shop"],
                             "date_started": STARTS, "date_detected": STARTS, "status": 0, "title": name},
            "web_url": "https://sentry.io/organizations/acme/alerts/rules/details/7/",
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def build() -> list[dict]:
    lines: list[dict] = []
    for spec in SPECS:
        family = job = ""
        for raw in spec.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            if raw.startswith("@"):
                family, job = raw[1:].split()
                continue
            name, severity, rest = raw.split("|", 2)
            extra = ""
            if family in ("signoz", "sentry"):  # a fifth field with labels; no '|' in their queries
                expr, summary, *more = rest.split("|")
                extra = more[0] if more else ""
            else:  # PromQL may contain '|' (regex alternations): the summary is the last field
                expr, summary = rest.rsplit("|", 1)
            if family == "signoz":
                source, payload = "signoz", _signoz(name, severity, expr, summary, extra)
            elif family == "sentry":
                source, payload = "sentry", _sentry(name, expr, summary, extra)
            else:
                source, payload = "alertmanager", _alertmanager(family, job, name, severity, expr, summary)
            lines.append({"family": family, "source": source, "payload": payload})
    return lines


if __name__ == "__main__":
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} alerts, {len({r['family'] for r in rows})} families -> {OUT}")
