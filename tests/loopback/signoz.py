"""A loopback SigNoz query-service API for what deploy/signoz/load.py calls: list/create/update
notification channels (``/api/v1/channels``) and alert rules (``/api/v1/rules``).

It enforces the ``SIGNOZ-API-KEY`` header and the shapes SigNoz's rule API accepts (a
PostableRule: ``alert``, ``alertType``, ``ruleType``, ``evalWindow``/``frequency`` as Go durations,
``condition.compositeQuery`` with PromQL queries, ``op`` "1"-"4", ``matchType`` "1"-"5") and a
webhook channel as Alertmanager's ``webhook_configs`` (SigNoz's notifier is Alertmanager's). It
answers in SigNoz's envelope ``{"status": "success", "data": ...}``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.loopback import LoopbackServer, Response, decode_json, json_response

_DURATION = re.compile(r"(\d+h)?(\d+m)?(\d+s)?")
_ALERT_TYPES = {"METRIC_BASED_ALERT", "TRACES_BASED_ALERT", "LOGS_BASED_ALERT", "EXCEPTIONS_BASED_ALERT"}
_RULE_TYPES = {"threshold_rule", "promql_rule", "anomaly_rule"}


def _ok(data: Any) -> Response:
    return json_response(200, {"status": "success", "data": data})


def _bad(message: str) -> Response:
    return json_response(400, {"status": "error", "errorType": "bad_data", "error": message})


class SigNozLoopback(LoopbackServer):
    def __init__(self, api_key: str = "signoz-test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.channels: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self._next = 1

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    def rule_problems(self, rule: Any) -> list[str]:
        if not isinstance(rule, dict):
            return ["a rule is a JSON object"]
        problems = []
        if not isinstance(rule.get("alert"), str) or not rule["alert"]:
            problems.append("alert: a non-empty name is required")
        if rule.get("alertType") not in _ALERT_TYPES:
            problems.append(f"alertType {rule.get('alertType')!r} is not one of {sorted(_ALERT_TYPES)}")
        if rule.get("ruleType") not in _RULE_TYPES:
            problems.append(f"ruleType {rule.get('ruleType')!r}")
        for key in ("evalWindow", "frequency"):
            value = rule.get(key)
            if not isinstance(value, str) or not value or not _DURATION.fullmatch(value):
                problems.append(f"{key}: a Go duration such as 5m0s, got {value!r}")
        condition = rule.get("condition") or {}
        query = condition.get("compositeQuery") or {}
        if query.get("queryType") != "promql" or not isinstance(query.get("promQueries"), dict):
            problems.append("condition.compositeQuery: queryType promql with promQueries")
        else:
            for name, prom in query["promQueries"].items():
                if prom.get("name") != name or not str(prom.get("query", "")).strip():
                    problems.append(f"promQueries.{name}: name must equal its key and query must be set")
            if condition.get("selectedQueryName") not in query["promQueries"]:
                problems.append("condition.selectedQueryName must name one of the queries")
        if condition.get("op") not in {"1", "2", "3", "4"}:
            problems.append(f"condition.op {condition.get('op')!r}: 1 above, 2 below, 3 equal, 4 not equal")
        if condition.get("matchType") not in {"1", "2", "3", "4", "5"}:
            problems.append(f"condition.matchType {condition.get('matchType')!r}")
        if not isinstance(condition.get("target"), (int, float)):
            problems.append("condition.target must be a number")
        if condition.get("alertOnAbsent") and not isinstance(condition.get("absentFor"), int):
            problems.append("condition.absentFor (minutes) must accompany alertOnAbsent")
        if not all(isinstance(v, str) for v in (rule.get("labels") or {}).values()):
            problems.append("labels are strings")
        if not isinstance(rule.get("preferredChannels", []), list):
            problems.append("preferredChannels is a list of channel names")
        for channel in rule.get("preferredChannels", []):
            if channel not in {c["name"] for c in self.channels.values()}:
                problems.append(f"preferredChannels names {channel!r}, which does not exist")
        return problems

    @staticmethod
    def channel_problems(channel: Any) -> list[str]:
        if not isinstance(channel, dict) or not channel.get("name"):
            return ["a channel needs a name"]
        configs = channel.get("webhook_configs")
        if not isinstance(configs, list) or len(configs) != 1:
            return ["webhook_configs: one webhook"]
        config = configs[0]
        problems = []
        if not str(config.get("url", "")).startswith(("http://", "https://")):
            problems.append(f"webhook url {config.get('url')!r}")
        auth = (config.get("http_config") or {}).get("authorization")
        if auth is not None and (auth.get("type", "").lower() != "bearer" or not auth.get("credentials")):
            problems.append("http_config.authorization: type bearer with credentials")
        return problems

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        url_path = urlsplit(path).path
        payload = decode_json(body) if body else None
        with self._lock:
            self.calls.append((method, url_path))
            if headers.get("signoz-api-key") != self.api_key:
                return json_response(401, {"status": "error", "error": "unauthorized"})
            if method in ("POST", "PUT") and not headers.get("content-type", "").startswith("application/json"):
                self.violations.append(f"{method} {url_path}: body must be application/json")
            kind, _, ident = url_path.removeprefix("/api/v1/").partition("/")
            store = {"channels": self.channels, "rules": self.rules}.get(kind)
            if store is None:
                self.violations.append(f"unexpected path {url_path}")
                return json_response(404, {"status": "error", "error": "not found"})
            check = self.rule_problems if kind == "rules" else self.channel_problems
            if method == "GET" and not ident:
                items = [{"id": i, **v} for i, v in store.items()]
                return _ok({"rules": items} if kind == "rules" else items)
            if method in ("POST", "PUT"):
                problems = check(payload)
                if problems:
                    self.violations.extend(problems)
                    return _bad("; ".join(problems))
                if method == "POST" and not ident:
                    new = self._id()
                    store[new] = payload
                    return _ok({"id": new, **payload} if kind == "rules" else {"id": new})
                if method == "PUT" and ident in store:
                    store[ident] = payload
                    return _ok(None)
                return json_response(404, {"status": "error", "error": f"{kind} {ident} not found"})
            self.violations.append(f"{method} {url_path} is not used by the loader")
            return json_response(405, {"status": "error", "error": "method not allowed"})
