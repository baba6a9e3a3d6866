"""The real `awoooi` console script, run as a subprocess with a clean environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.models import RepairAction
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "awoooi"
ANALYSIS_FIELDS = {"root_cause", "impact", "fix_suggestion", "prevention", "confidence", "analyzed_by", "category",
                   "recommended_repair"}


def _command() -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT)]
    found = shutil.which("awoooi")
    return [found] if found else [sys.executable, "-m", "starter.cli"]


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without any AWOOOI_ variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    return env | extra


def awoooi(*args: str, stdin: str | bytes = "", env: dict[str, str] | None = None,
           cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    data = stdin.decode() if isinstance(stdin, bytes) else stdin
    return subprocess.run([*_command(), *args], input=data, capture_output=True, text=True,
                          env=env if env is not None else _env(), cwd=cwd or ROOT, timeout=timeout, check=False)


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _assert_analysis(line: dict[str, Any]) -> None:
    analysis = line["analysis"]
    assert ANALYSIS_FIELDS <= analysis.keys(), analysis
    for text in ("root_cause", "impact", "fix_suggestion", "prevention", "analyzed_by", "category"):
        assert isinstance(analysis[text], str) and analysis[text].strip(), text
    assert 0.0 <= analysis["confidence"] <= 1.0
    repair = analysis["recommended_repair"]
    action = RepairAction(repair["action"])
    assert repair["tier"] == action.tier
    assert line["anomaly_key"] and line["incident_id"]


def _compact(name: str) -> str:
    return json.dumps(json.loads((FIXTURES / name).read_text()))


def test_help_lists_the_commands() -> None:
    result = awoooi("--help")
    assert result.returncode == 0, result.stderr
    for command in ("dev", "worker", "api", "analyze"):
        assert command in result.stdout


def test_analyze_a_grouped_alertmanager_payload(tmp_path: Path) -> None:
    result = awoooi("analyze", stdin=(FIXTURES / "alertmanager_v4_firing_grouped.json").read_bytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert len(lines) == 3
    for line in lines:
        assert line["source"] == "alertmanager" and line["status"] == "firing"
        _assert_analysis(line)
    assert len({line["incident_id"] for line in lines}) == 3
    assert not list(tmp_path.iterdir()), "analyze writes nothing to disk"


def test_analyze_json_lines_of_mixed_sources(tmp_path: Path) -> None:
    flat_signoz = {
        "alertname": "HighCPUUsage",
        "status": "firing",
        "labels": {"severity": "critical", "service_name": "checkout", "ruleId": "42"},
        "annotations": {"description": "CPU above 90% for 5m"},
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }
    stdin = "\n".join([
        _compact("sentry_issue_alert_triggered.json"),
        json.dumps(flat_signoz),
        "",  # blank lines are skipped
        _compact("alertmanager_v4_firing_grouped.json"),
    ]) + "\n"
    result = awoooi("analyze", stdin=stdin, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert [line["source"] for line in lines] == ["sentry", "signoz", "alertmanager", "alertmanager", "alertmanager"]
    for line in lines:
        _assert_analysis(line)
    assert lines[1]["service"] == "checkout"


def test_analyze_a_line_that_is_not_json_fails_naming_the_line(tmp_path: Path) -> None:
    stdin = _compact("signoz_alert.json") + "\n{this is not json\n"
    result = awoooi("analyze", stdin=stdin, cwd=tmp_path)
    assert result.returncode != 0
    assert "line 2" in result.stderr
    assert result.stdout == ""


def test_analyze_a_line_that_is_not_a_payload_fails_naming_the_line(tmp_path: Path) -> None:
    stdin = "\n".join([_compact("signoz_alert.json"), "[1, 2, 3]", _compact("alertmanager_v4_resolved_single.json")])
    result = awoooi("analyze", stdin=stdin, cwd=tmp_path)
    assert result.returncode != 0
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(e.get("line") == 2 for e in errors), result.stderr
    # The good lines are still analyzed.
    assert len(_lines(result.stdout)) == 2


def test_worker_without_temporal_address_exits_2(tmp_path: Path) -> None:
    result = awoooi("worker", cwd=tmp_path, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "AWOOOI_TEMPORAL_ADDRESS" in result.stderr


@pytest.mark.parametrize("command", ["api", "worker"])
def test_redis_url_is_required_too(tmp_path: Path, command: str) -> None:
    result = awoooi(command, env=_env(AWOOOI_TEMPORAL_ADDRESS="127.0.0.1:1"), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "AWOOOI_REDIS_URL" in result.stderr
    assert "AWOOOI_TEMPORAL_ADDRESS" not in result.stderr


def test_invalid_timezone_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = awoooi("worker", env=_env(AWOOOI_TIMEZONE="Mars/Olympus_Mons"), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "AWOOOI_TIMEZONE" in result.stderr
    assert "Mars/Olympus_Mons" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_settings_never_echo_a_secret(tmp_path: Path) -> None:
    secret = "tg-secret-7c1f9e"
    env = _env(AWOOOI_TELEGRAM_BOT_TOKEN=secret, AWOOOI_API_PORT="not-a-port")
    result = awoooi("worker", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "AWOOOI_API_PORT" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_a_refused_secret_is_not_echoed(tmp_path: Path) -> None:
    """A validator on a secret names the variable and the rule, never the value it refused."""
    secret = "no spaces allowed here 7c1f9e"
    result = awoooi("worker", env=_env(AWOOOI_TELEGRAM_WEBHOOK_SECRET=secret), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "AWOOOI_TELEGRAM_WEBHOOK_SECRET" in result.stderr
    assert "7c1f9e" not in result.stderr + result.stdout


def test_analyze_an_invalid_normalised_alert_names_the_line(tmp_path: Path) -> None:
    """A line shaped like an awoooi Alert but with bad values is reported, not a traceback."""
    bad = json.dumps({"source": "nagios", "fingerprint": "f1", "title": "Disk full", "status": "firing"})
    good = json.dumps({"source": "synthetic", "fingerprint": "f2", "title": "Disk full", "status": "firing",
                       "labels": {"alertname": "DiskRunningFull", "service": "db"}})
    result = awoooi("analyze", stdin=f"{bad}\n{good}\n", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [e["line"] for e in errors] == [1]
    assert "source" in errors[0]["error"]
    lines = _lines(result.stdout)
    assert len(lines) == 1 and lines[0]["source"] == "synthetic"
    _assert_analysis(lines[0])


def test_version_and_every_subcommand_says_what_it_does() -> None:
    version = awoooi("--version")
    assert version.returncode == 0 and version.stdout.startswith("awoooi ")
    for command, words in {"dev": "AWOOOI_DATA_DIR", "worker": "AWOOOI_TEMPORAL_ADDRESS",
                           "api": "AWOOOI_WEBHOOK_TOKEN", "analyze": "/api/v2/alerts",
                           "incidents": "awaiting-approval"}.items():
        result = awoooi(command, "--help")
        assert result.returncode == 0, result.stderr
        assert words in result.stdout, (command, result.stdout)


def test_analyze_a_bare_alert_object_and_an_api_v2_alerts_array(tmp_path: Path) -> None:
    group = json.loads((FIXTURES / "alertmanager_v4_firing_grouped.json").read_text())
    bare = group["alerts"][0]
    v2 = [{"labels": a["labels"], "annotations": a["annotations"], "startsAt": a["startsAt"],
           "endsAt": "2030-01-01T00:00:00Z", "fingerprint": a["fingerprint"], "generatorURL": a["generatorURL"],
           "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}, "receivers": [{"name": "awoooi"}],
           "updatedAt": a["startsAt"]} for a in group["alerts"]]
    stdin = json.dumps(bare) + "\n" + json.dumps(v2) + "\n"
    result = awoooi("analyze", stdin=stdin, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert len(lines) == 4
    assert {line["source"] for line in lines} == {"alertmanager"}
    assert all(line["status"] == "firing" for line in lines)
    assert lines[0]["incident_id"] == lines[1]["incident_id"], "the same alert, two shapes, one incident"
    for line in lines:
        _assert_analysis(line)


def test_analyze_into_a_closed_pipe_exits_cleanly() -> None:
    many = "\n".join(_compact("alertmanager_v4_firing_grouped.json") for _ in range(400))
    reader = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run([*_command(), "analyze"], input=many.encode(), stdout=reader.stdin,
                            stderr=subprocess.PIPE, env=_env(), cwd=ROOT, timeout=120, check=False)
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait(10)
    assert writer.returncode == 0, writer.stderr.decode()[-2000:]
    assert b"Traceback" not in writer.stderr
