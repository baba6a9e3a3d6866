"""The operator's commands: the table format, `learning summary|recommend` and `playbooks` over a
real LearningService on the test Valkey (tables and --json), the dev-default addresses, the help
texts, and `awoooi learning summary` end to end as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from activities.valkey.counter import RedisAnomalyCounter
from core.learning import RepairRecord
from core.models import RepairAction
from core.settings import Settings
from starter.cli import main
from starter.ops_cli import learning_text, table, with_dev_defaults
from activities.valkey.learning import learning_service

ROOT = Path(__file__).resolve().parents[1]
KEY = "alertmanager:api:HighMemory"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RESTART, SCALE_UP, DELETE = RepairAction.RESTART_POD, RepairAction.SCALE_UP, RepairAction.DELETE_POD


@pytest.fixture(autouse=True)
def _no_awoooi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWOOOI_"):
            monkeypatch.delenv(name)


# -- table ----------------------------------------------------------------------------------------


def test_table_pads_columns_to_the_widest_cell() -> None:
    text = table(["action", "n", "rate"], [["restart_pod", 6, "83%"], ["scale_up", 12, None]])

    assert text.split("\n") == [
        "action       n   rate",
        "-----------  --  ----",
        "restart_pod  6   83%",
        "scale_up     12  -",
    ]


def test_table_without_rows_is_the_header_and_its_rule() -> None:
    assert table(["anomaly key", "action"], []) == "anomaly key  action\n-----------  ------"


def test_table_lines_have_no_trailing_spaces() -> None:
    text = table(["a", "bbbbbb"], [["xxxxxx", ""], [None, None]])

    assert all(line == line.rstrip() for line in text.split("\n"))
    assert text.split("\n")[3] == "-       -"


# -- learning over the real service ---------------------------------------------------------------


async def seed(redis: Redis) -> None:
    """restart_pod 5 of 6 (a playbook at the 5th success), scale_up 3 of 5 (just qualifies),
    delete_pod failed twice in a row (blocked), and 4 occurrences of the anomaly."""
    counter = RedisAnomalyCounter(redis)
    for i in range(4):
        await counter.record(KEY, f"occ-{i}", T0 + timedelta(minutes=i))
    outcomes = [(RESTART, s) for s in (True, True, True, True, True, False)]
    outcomes += [(SCALE_UP, s) for s in (False, True, False, True, True)]
    outcomes += [(DELETE, False), (DELETE, False)]
    service = learning_service(redis)
    for i, (action, success) in enumerate(outcomes):
        await service.record_repair_result(RepairRecord(
            repair_id=f"rep-{i}", incident_id="alertmanager-1a2b3c", anomaly_key=KEY, action=action,
            success=success, execution_seconds=float(i + 1) if action is RESTART else 9.0, executor="dry-run",
            root_cause="memory leak in the cache", at=T0 + timedelta(minutes=10 + i)))


async def test_summary_table(redis: Redis) -> None:
    await seed(redis)

    text = await learning_text(learning_service(redis), "summary", KEY, False)

    head, actions = text.split("\n\n")
    assert head.split("\n")[2].split() == [KEY, "4", "13", "62%", "restart_pod", "sufficient"]
    assert head.split("\n")[0].split("  ")[0] == "anomaly key"
    rows = [line.split() for line in actions.split("\n")[2:]]
    assert rows == [
        ["restart_pod", "6", "5", "83%"],
        ["scale_up", "5", "3", "60%"],
        ["delete_pod", "2", "0", "0%", "yes"],
    ]


async def test_summary_json_is_the_learning_summary(redis: Redis) -> None:
    await seed(redis)
    service = learning_service(redis)

    data = json.loads(await learning_text(service, "summary", KEY, True))

    assert data == (await service.get_learning_summary(KEY)).model_dump(mode="json")
    assert data["best_action"] == "restart_pod"
    assert data["blocked_actions"] == ["delete_pod"]
    assert data["repair_attempts"] == 13


async def test_recommend_table_shows_action_confidence_and_evidence(redis: Redis) -> None:
    await seed(redis)

    text = await learning_text(learning_service(redis), "recommend", KEY, False)

    lines = text.split("\n")
    assert lines[0].split() == ["action", "tier", "confidence", "based", "on", "avg", "time", "source"]
    # Confidence is the Wilson lower bound (core/stats.py): 5 of 6 is "at least 44 %", 3 of 5 "at least 23 %".
    assert lines[2].split() == ["recommended", "restart_pod", "1", "44%", "6", "3.5s", "learning"]
    assert lines[3].split() == ["alternative", "scale_up", "2", "23%", "5", "-"]
    assert len(lines) == 4  # delete_pod is blocked: never an alternative


async def test_recommend_json_parses(redis: Redis) -> None:
    await seed(redis)

    data = json.loads(await learning_text(learning_service(redis), "recommend", KEY, True))

    assert (data["action"], data["based_on"], data["source"]) == ("restart_pod", 6, "learning")
    assert data["confidence"] == pytest.approx(0.4365)  # 5 of 6, the Wilson lower bound
    assert data["avg_execution_seconds"] == pytest.approx(3.5)
    assert [a["action"] for a in data["alternatives"]] == ["scale_up"]


async def test_recommend_for_an_unknown_key_is_the_default(redis: Redis) -> None:
    text = await learning_text(learning_service(redis), "recommend", "nothing:learned:yet", False)

    rows = [line.split() for line in text.split("\n")[2:]]
    assert rows == [["recommended", "restart_pod", "1", "30%", "0", "-", "default"],
                    ["alternative", "delete_pod", "1", "30%", "0", "-"]]


async def test_summary_of_an_unknown_key_is_insufficient(redis: Redis) -> None:
    text = await learning_text(learning_service(redis), "summary", "nothing:learned:yet", False)

    head, actions = text.split("\n\n")
    assert head.split("\n")[2].split() == ["nothing:learned:yet", "0", "0", "0%", "-", "insufficient"]
    assert len(actions.split("\n")) == 2  # header and rule only


async def test_playbooks_table_and_json(redis: Redis) -> None:
    await seed(redis)
    service = learning_service(redis)

    text = await learning_text(service, "playbooks", None, False)
    data = json.loads(await learning_text(service, "playbooks", None, True))

    row = text.split("\n")[2]
    # Written at the 5th straight success of restart_pod (rep-4, T0 + 14 min); 5/6 does not beat 5/5.
    assert row.split("  ")[0] == KEY
    assert row.split()[1:] == ["restart_pod", "100%", "5", "2026-11-25", "10:14", "memory", "leak", "in", "the",
                               "cache"]
    [book] = data["playbooks"]
    assert (book["anomaly_key"], book["action"], book["executions"], book["success_rate"]) == (
        KEY, "restart_pod", 5, 1.0)


async def test_no_playbooks_is_an_empty_table(redis: Redis) -> None:
    service = learning_service(redis)

    assert len((await learning_text(service, "playbooks", None, False)).split("\n")) == 2
    assert json.loads(await learning_text(service, "playbooks", None, True)) == {"playbooks": []}


# -- dev defaults ---------------------------------------------------------------------------------


def test_dev_defaults_fill_the_embedded_addresses_when_unset() -> None:
    settings = with_dev_defaults(Settings())

    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_dev_defaults_follow_the_dev_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWOOOI_DEV_TEMPORAL_PORT", "17233")
    monkeypatch.setenv("AWOOOI_DEV_VALKEY_PORT", "16379")

    settings = with_dev_defaults(Settings())

    assert (settings.temporal_address, settings.redis_url) == ("127.0.0.1:17233", "redis://127.0.0.1:16379/0")


def test_dev_defaults_leave_configured_addresses_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWOOOI_TEMPORAL_ADDRESS", "temporal.prod:7233")
    monkeypatch.setenv("AWOOOI_REDIS_URL", "redis://valkey.prod:6379/2")
    configured = Settings()

    assert with_dev_defaults(configured) is configured


def test_dev_defaults_fill_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWOOOI_REDIS_URL", "redis://valkey.prod:6379/2")
    original = Settings()

    settings = with_dev_defaults(original)

    assert (settings.temporal_address, settings.redis_url) == ("127.0.0.1:7233", "redis://valkey.prod:6379/2")
    assert original.temporal_address == ""  # a copy: the caller's settings are unchanged


# -- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], ["dev", "worker", "api", "analyze", "approve", "reject", "learning", "playbooks"]),
        (["approve", "--help"], ["incident_id", "--by", "--note"]),
        (["reject", "--help"], ["incident_id", "--by", "--note"]),
        (["learning", "--help"], ["summary", "recommend", "anomaly_key", "--json"]),
        (["playbooks", "--help"], ["--json"]),
    ],
)
def test_help(argv: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: awoooi")
    for word in expected:
        assert word in out


def test_an_unknown_learning_view_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["learning", "forecast", KEY])

    assert exited.value.code == 2
    assert "invalid choice: 'forecast'" in capsys.readouterr().err


# -- end to end -----------------------------------------------------------------------------------


def awoooi(*args: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "awoooi"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "starter.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env |= {"AWOOOI_REDIS_URL": redis_url, "AWOOOI_LOG_FORMAT": "json"}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=30,
                          check=False)


async def test_awoooi_learning_summary_prints_a_table(redis: Redis, valkey_url: str) -> None:
    await seed(redis)

    done = await asyncio.to_thread(awoooi, "learning", "summary", KEY, redis_url=valkey_url)

    assert done.returncode == 0, done.stderr
    assert done.stdout == await learning_text(learning_service(redis), "summary", KEY, False) + "\n"
    assert "restart_pod" in done.stdout and "83%" in done.stdout


async def test_awoooi_learning_with_valkey_down_says_so_in_one_line() -> None:
    done = await asyncio.to_thread(awoooi, "learning", "summary", KEY, redis_url="redis://127.0.0.1:1/0")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("awoooi: redis:")
