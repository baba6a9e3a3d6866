"""Build tests/evaluation/alerts.jsonl, the judged evaluation set, and its held-out list (run once).

    python tests/evaluation/build_set.py

Four origins, every alert as the webhook body its sender posts (so it goes through the real parsers):

- ``corpus``: 250 alerts drawn at random (``random.Random(CORPUS_SEED)``) from the public rule
  collections in tests/corpus/ (sources in tests/corpus/build_corpus.py). That corpus was assembled
  while the knowledge base was built, so it flatters the knowledge base; the held-out part and the
  other origins are the check on that.
- ``kube-prometheus``: the kubernetes-mixin rules as kube-prometheus renders them, with their own
  summary, description and runbook_url (kube_prometheus.txt, source named in its header).
- ``fixture``: the real payloads in tests/fixtures/ (sources in tests/fixtures/SOURCES.md), one alert
  per distinct rule.
- ``signoz-seed``: the seed's five SigNoz rules (deploy/signoz/rules.json) as SigNoz posts them:
  annotations rendered, the query result's labels attached, and no query in the body.

The held-out fifth is drawn with ``random.Random(HOLDOUT_SEED)`` over the sorted ids and written to
holdout.txt; it is not looked at while the knowledge base is tuned (docs/analysis-evaluation.md).
Labels live in labels.tsv, written by hand, one line per alert (README.md says how).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from urllib.parse import quote_plus

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CORPUS = ROOT / "tests" / "corpus" / "alert_rules.jsonl"
FIXTURES = ROOT / "tests" / "fixtures"
SIGNOZ_RULES = ROOT / "deploy" / "signoz" / "rules.json"
OUT = HERE / "alerts.jsonl"
HOLDOUT = HERE / "holdout.txt"
CORPUS_SEED = 22
CORPUS_SAMPLE = 250
HOLDOUT_SEED = 2222
STARTS = "2026-11-30T10:00:00Z"
RUNBOOKS = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
FIXTURE_FILES = (  # one alert per distinct rule: grouped bodies repeat the rule for several hosts
    "alertmanager_v4_firing_grouped.json", "alertmanager_v4_firing_grouped_zulip_fixture.json",
    "alertmanager_v4_resolved_cloudeon.json", "alertmanager_v4_resolved_single.json",
    "alertmanager_v4_resolved_with_notification_reason.json", "signoz_alert.json",
    "sentry_error_created.json", "sentry_issue_created_zulip_fixture.json",
    "sentry_issue_resolved_zulip_fixture.json", "sentry_metric_alert_resolved.json",
)


def _corpus() -> list[dict]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = sorted(random.Random(CORPUS_SEED).sample(range(len(rows)), CORPUS_SAMPLE))
    out = []
    for index in picked:
        row = rows[index]
        name = (row["payload"].get("alerts") or [{}])[0].get("labels", {}).get("alertname") or \
            row["payload"].get("data", {}).get("metric_alert", {}).get("title", "")
        out.append({"id": f"corpus:{index:03d}:{name}", "origin": f"tests/corpus/alert_rules.jsonl line {index + 1}",
                    "source": row["source"], "payload": row["payload"]})
    return out


def _kube_prometheus() -> list[dict]:
    out = []
    lines = [raw for raw in (HERE / "kube_prometheus.txt").read_text(encoding="utf-8").splitlines()
             if raw.strip() and not raw.startswith("#")]
    for number, raw in enumerate(lines):
        name, severity, summary, description, expr, extra = raw.split("\t")
        labels = {"alertname": name, "severity": severity, "prometheus": "monitoring/k8s",
                  **dict(pair.split("=", 1) for pair in extra.split(";") if pair)}
        alert = {
            "status": "firing", "labels": labels,
            "annotations": {"summary": summary, "description": description,
                            "runbook_url": RUNBOOKS + name.lower()},
            "startsAt": STARTS, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": f"http://prometheus-k8s-0:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1",
            "fingerprint": hashlib.sha256(raw.encode()).hexdigest()[:16],
        }
        body = {"receiver": "awoooi", "status": "firing", "alerts": [alert], "groupLabels": {"alertname": name},
                "commonLabels": labels, "commonAnnotations": alert["annotations"],
                "externalURL": "http://alertmanager-main-0:9093", "version": "4",
                "groupKey": f'{{}}:{{alertname="{name}"}}', "truncatedAlerts": 0}
        out.append({"id": f"kube-prometheus:{number:02d}:{name}", "origin": "tests/evaluation/kube_prometheus.txt",
                    "source": "alertmanager", "payload": body})
    return out


def _fixtures() -> list[dict]:
    out = []
    for name in FIXTURE_FILES:
        body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        if isinstance(body.get("alerts"), list):
            body = {**body, "alerts": body["alerts"][:1]}
        source = "sentry" if name.startswith("sentry") else "alertmanager"
        out.append({"id": f"fixture:{name}", "origin": f"tests/fixtures/{name}", "source": source, "payload": body})
    return out


def _render(template: str, service: str, value: str) -> str:
    return template.replace("{{$labels.service_name}}", service).replace("{{$value}}", value)


def _signoz_seed() -> list[dict]:
    out = []
    values = {"APIHighErrorRate": "12.5", "APIHighLatencyP99": "3412", "APIHighLatencyP95": "1830",
              "NoTracesReceived": "0", "HighSpanDropRate": "4.2"}
    for number, rule in enumerate(json.loads(SIGNOZ_RULES.read_text(encoding="utf-8"))):
        name = rule["alert"]
        service = "" if name == "HighSpanDropRate" else "checkout"
        labels = {"alertname": name, **rule["labels"], "ruleId": str(101 + number),
                  "ruleSource": f"http://signoz.example:3301/alerts/edit?ruleId={101 + number}"}
        if service:
            labels["service_name"] = service
        annotations = {k: _render(v, service, values[name]) for k, v in rule["annotations"].items()}
        alert = {"status": "firing", "labels": labels, "annotations": annotations, "startsAt": STARTS,
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": labels["ruleSource"],
                 "fingerprint": hashlib.sha256(name.encode()).hexdigest()[:16]}
        body = {"receiver": "awoooi", "status": "firing", "alerts": [alert], "groupLabels": {"alertname": name},
                "commonLabels": labels, "commonAnnotations": annotations, "externalURL": "http://signoz.example:3301",
                "version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "truncatedAlerts": 0}
        out.append({"id": f"signoz-seed:{name}", "origin": "deploy/signoz/rules.json", "source": "signoz",
                    "payload": body})
    return out


def build() -> list[dict]:
    return _corpus() + _kube_prometheus() + _fixtures() + _signoz_seed()


if __name__ == "__main__":
    rows = build()
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids), "duplicate ids"
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    held = sorted(random.Random(HOLDOUT_SEED).sample(sorted(ids), len(ids) // 5))
    HOLDOUT.write_text(f"# random.Random({HOLDOUT_SEED}).sample(sorted(ids), {len(ids) // 5}); "
                       "not looked at while tuning\n" + "\n".join(held) + "\n", encoding="utf-8")
    print(f"{len(rows)} alerts -> {OUT.name}; {len(held)} held out -> {HOLDOUT.name}")
