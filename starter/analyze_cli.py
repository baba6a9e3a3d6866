"""`awoooi analyze`: what the knowledge base says about alerts, before they fire.

Reads one payload of any supported source (Alertmanager, SigNoz, Sentry) or JSON Lines with one
payload or alert per line on stdin, and prints one JSON line per alert with its analysis. With
``--explain`` each line also says which signals matched, which entry won and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from activities.analysis import RuleAnalyzer
from activities.analysis.rules import explain as explain_match
from core.errors import PayloadError
from core.identity import incident_ref
from core.models import Alert
from core.ports import Analyzer
from starter.parsers import parse_alertmanager, parse_sentry, parse_signoz


def _documents(text: str) -> Iterable[tuple[int, Any]]:
    try:
        yield 1, json.loads(text)
        return
    except (json.JSONDecodeError, RecursionError):
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise PayloadError(f"line {number}: not valid JSON ({exc})") from exc


def _v2_alert(raw: Any, index: int) -> Any:
    """An alert of Alertmanager's API v2 (/api/v2/alerts) in the webhook's shape: the API lists the
    alerts it holds, which are firing (active, suppressed or unprocessed alike)."""
    if not isinstance(raw, dict):
        raise PayloadError(f"[{index}] must be a JSON object")
    shaped = {k: raw[k] for k in ("labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint")
              if k in raw}
    return shaped | {"status": "firing", "endsAt": "0001-01-01T00:00:00Z"}


def alerts_in(document: Any) -> list[Alert]:
    """Recognise the payload's source by its shape, as the webhooks would by their path: a webhook
    body of any source, a bare Alertmanager alert object, or an /api/v2/alerts array."""
    if isinstance(document, list):
        alerts = [_v2_alert(raw, i) for i, raw in enumerate(document)]
        if not alerts:
            return []
        return [p.alert for p in parse_alertmanager({"status": "firing", "alerts": alerts}).alerts]
    if not isinstance(document, dict):
        raise PayloadError("each payload must be a JSON object, or an /api/v2/alerts array")
    if "alerts" in document:
        return [p.alert for p in parse_alertmanager(document).alerts]
    if isinstance(document.get("labels"), dict) and "alertname" not in document and "source" not in document:
        # One alert object of an Alertmanager webhook, on its own.
        bare = document if "status" in document else document | {"status": "firing"}
        return [p.alert for p in parse_alertmanager({"alerts": [bare]}).alerts]
    if {"source", "fingerprint", "title", "status"} <= document.keys():
        return [Alert.model_validate(document)]
    if "alertname" in document:
        return [p.alert for p in parse_signoz(document).alerts]
    result = parse_sentry(document, resource=None)
    if result.ignored is not None:
        return []
    return [p.alert for p in result.alerts]


async def analyze_stream(
    stdin: TextIO, stdout: TextIO, stderr: TextIO, analyzer: Analyzer | None = None, *, explain: bool = False
) -> int:
    analyzer = analyzer or RuleAnalyzer()
    failures = 0
    try:
        documents = list(_documents(stdin.read()))
    except PayloadError as exc:
        print(json.dumps({"error": str(exc)}), file=stderr)
        return 2
    for number, document in documents:
        try:
            alerts = alerts_in(document)
        except (PayloadError, ValueError) as exc:  # ValueError: pydantic ValidationError of a flat Alert
            failures += 1
            print(json.dumps({"line": number, "error": str(exc)}), file=stderr)
            continue
        for alert in alerts:
            analysis = await analyzer.analyze(alert)
            ref = incident_ref(alert)
            line = {
                "source": alert.source.value,
                "title": alert.title,
                "status": alert.status.value,
                "service": alert.service,
                "anomaly_key": ref.anomaly_key,
                "incident_id": ref.incident_id,
                "analysis": analysis.model_dump(mode="json"),
            }
            if explain:
                line["explain"] = explain_match(alert)
            print(json.dumps(line, ensure_ascii=False), file=stdout)
    return 1 if failures else 0
