"""deploy/signoz: the seed's SigNoz rules (E-1, E-4), the channel to awoooi, and their loader.

The loader runs as a real subprocess against a loopback SigNoz that checks each request against
SigNoz's rule and channel API; each PromQL query is parsed by the real ``promtool``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import debian_binary
from tests.loopback.signoz import SigNozLoopback

ROOT = Path(__file__).resolve().parents[1]
SIGNOZ = ROOT / "deploy" / "signoz"
TOKEN = "webhook-token-must-not-print"


def _load(signoz: SigNozLoopback, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SIGNOZ_URL": signoz.base_url, "SIGNOZ_API_KEY": signoz.api_key,
           "SIGNOZ_WEBHOOK_BASE_URL": "https://awoooi.example.com/", "AWOOOI_WEBHOOK_TOKEN": TOKEN, **overrides}
    return subprocess.run([sys.executable, str(SIGNOZ / "load.py")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_seed_rules_are_all_there() -> None:
    rules = {r["alert"]: r for r in json.loads((SIGNOZ / "rules.json").read_text())}
    # The seed's names (issue 22: the analysis reads them right, tests/test_deploy_alerts_analyzed.py).
    expected = {"APIHighErrorRate": ("1", 5), "APIHighLatencyP99": ("1", 2000),
                "APIHighLatencyP95": ("1", 1000), "NoTracesReceived": ("3", 0), "HighSpanDropRate": ("1", 1)}
    assert {name: (r["condition"]["op"], r["condition"]["target"]) for name, r in rules.items()} == expected
    no_traces = rules["NoTracesReceived"]["condition"]
    assert no_traces["alertOnAbsent"] is True and no_traces["absentFor"] == 15
    assert all(r["preferredChannels"] == ["awoooi"] for r in rules.values())


def test_rule_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = json.loads((SIGNOZ / "rules.json").read_text())
    group = {"groups": [{"name": "signoz", "rules": [
        {"alert": r["alert"], "expr": r["condition"]["compositeQuery"]["promQueries"]["A"]["query"]} for r in rules]}]}
    path = tmp_path / "signoz.yml"
    path.write_text(yaml.safe_dump(group))
    result = subprocess.run([debian_binary("promtool"), "check", "rules", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_loader_creates_then_updates_in_place() -> None:
    with SigNozLoopback() as signoz:
        first = _load(signoz)
        assert first.returncode == 0, first.stderr
        assert not signoz.violations, signoz.violations
        assert len(signoz.rules) == 5 and len(signoz.channels) == 1
        channel = next(iter(signoz.channels.values()))
        config = channel["webhook_configs"][0]
        assert config["url"] == "https://awoooi.example.com/api/v1/webhooks/signoz"
        assert config["http_config"]["authorization"] == {"type": "bearer", "credentials": TOKEN}
        assert config["send_resolved"] is True
        # The channel exists before the first rule names it.
        posts = [path for method, path in signoz.calls if method == "POST"]
        assert posts[0] == "/api/v1/channels"

        second = _load(signoz)
        assert second.returncode == 0 and "updated" in second.stdout and "created" not in second.stdout
        assert len(signoz.rules) == 5 and len(signoz.channels) == 1 and not signoz.violations
        for output in (first, second):
            assert TOKEN not in output.stdout + output.stderr
            assert signoz.api_key not in output.stdout + output.stderr


def test_loader_reports_a_wrong_key_and_missing_settings() -> None:
    with SigNozLoopback() as signoz:
        wrong = _load(signoz, SIGNOZ_API_KEY="not-the-key")
        assert wrong.returncode == 1 and "401" in wrong.stderr and "not-the-key" not in wrong.stderr
        assert not signoz.channels and not signoz.rules
        missing = _load(signoz, SIGNOZ_URL="")
        assert missing.returncode == 2 and "SIGNOZ_URL" in missing.stderr
