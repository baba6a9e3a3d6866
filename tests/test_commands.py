"""The long-running commands as an operator runs them: `awoooi dev`, `awoooi worker`, `awoooi api`.

Each runs as a real subprocess on free ports; the tests post real fixtures, look at the result with
the `temporal` CLI, stop the process with the signal a terminal or Kubernetes would send, and check
that it stopped cleanly (and, for `dev`, that a restart keeps history).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from starter.embedded import free_port, port_open, venv_binary
from tests.conftest import fixture_bytes
from tests.loopback.telegram import TelegramLoopback

AWOOOI = [sys.executable, "-m", "starter.cli"]
ROOT = Path(__file__).resolve().parents[1]


def _env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env.update({f"AWOOOI_{k.upper()}": str(v) for k, v in settings.items()})
    env["AWOOOI_LOG_FORMAT"] = "json"
    return env


def _wait_http(url: str, timeout: float = 90.0, accept: tuple[int, ...] = ()) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200 or response.status_code in accept:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout}s")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout: float = 45.0) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise AssertionError("process did not stop on its signal") from None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and whatever it started (`awoooi dev`'s Temporal and Valkey): it runs in its
    own session (start_new_session), so its group is exactly what this test started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _wait(predicate, timeout: float = 30.0, what: str = "condition") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


# Alertmanager incidents, not the scheduled chain probe's (it posts to the same webhook and may run
# while the test does: `make dev` schedules it every AWOOOI_PROBE_INTERVAL).
INCIDENTS = 'Source="alertmanager" AND WorkflowId STARTS_WITH "incident-"'


def _workflow_ids(address: str, query: str) -> list[str]:
    out = subprocess.run(
        [venv_binary("temporal"), "workflow", "list", "--address", address, "--query", query, "-o", "json"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    return [row["execution"]["workflowId"] for row in json.loads(out or "[]")]


def test_dev_runs_everything_and_keeps_history_across_restarts(tmp_path: Path) -> None:
    ports = {"api_port": free_port(), "dev_temporal_port": free_port(), "dev_temporal_ui_port": free_port(),
             "dev_valkey_port": free_port()}
    with TelegramLoopback() as telegram:
        env = _env(data_dir=tmp_path / "data", telegram_bot_token=telegram.token, telegram_chat_id="-100123",
                   telegram_api_base=telegram.base_url, **ports)
        base = f"http://127.0.0.1:{ports['api_port']}"
        address = f"127.0.0.1:{ports['dev_temporal_port']}"

        def start() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(AWOOOI + ["dev"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
            try:
                health = _wait_http(f"{base}/api/v1/health").json()
            except AssertionError:
                proc.send_signal(signal.SIGINT)  # it stops the servers it started
                try:
                    err = proc.communicate(timeout=30)[1]
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    err = b""
                raise AssertionError(err.decode()[-3000:]) from None
            assert health["temporal"] == "ok" and health["valkey"] == "ok"
            _wait_http(f"http://127.0.0.1:{ports['dev_temporal_ui_port']}/", timeout=30)
            return proc

        proc = start()
        try:
            first = httpx.post(f"{base}/api/v1/webhooks/alertmanager",
                               content=fixture_bytes("alertmanager_v4_firing_grouped.json"), timeout=10)
            assert first.status_code == 200, first.text
            assert [a["status"] for a in first.json()["alerts"]] == ["started"] * 3
            _wait(lambda: len(telegram.sent) == 3, what="three cards")
            ids = sorted(a["workflow_id"] for a in first.json()["alerts"])
            # Visibility follows each run's search-attribute upserts a moment after its card.
            _wait(lambda: sorted(_workflow_ids(address, f'{INCIDENTS} AND IncidentStatus="open"')) == ids,
                  what="the three open incidents listed")
        finally:
            assert _stop(proc, signal.SIGINT) == 0
        for port in (ports["api_port"], ports["dev_temporal_port"], ports["dev_valkey_port"]):
            assert not port_open(port), f"port {port} still open after Ctrl-C"

        proc = start()
        try:
            # History survived the restart, and so did the open incidents: a repeat edits the card.
            assert sorted(_workflow_ids(address, INCIDENTS)) == ids
            # The same alerts firing anew (new startsAt): a new occurrence of each.
            refired = json.loads(fixture_bytes("alertmanager_v4_firing_grouped.json"))
            for alert in refired["alerts"]:
                alert["startsAt"] = "2026-11-30T10:00:00Z"
            again = httpx.post(f"{base}/api/v1/webhooks/alertmanager", content=json.dumps(refired), timeout=10)
            assert [a["status"] for a in again.json()["alerts"]] == ["updated"] * 3
            _wait(lambda: len(telegram.edits) == 3, what="three card edits")
            assert len(telegram.sent) == 3
            cards = [texts[-1] for texts in telegram.messages.values()]
            assert all("<b>Occurrences:</b> 2" in card for card in cards)
            # The anomaly counter lives in Valkey: its AOF kept the first occurrence.
            assert all("last 24h 2" in card for card in cards), cards[0]
        finally:
            assert _stop(proc, signal.SIGINT) == 0
        assert telegram.violations == []


def test_dev_with_its_api_port_taken_says_so_and_never_up(tmp_path: Path) -> None:
    """`awoooi dev` says "up" only once every part answers: a taken API port is one line and exit 1,
    and the servers it started are stopped again."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = {"api_port": taken.getsockname()[1], "dev_temporal_port": free_port(),
                 "dev_temporal_ui_port": free_port(), "dev_valkey_port": free_port()}
        env = _env(data_dir=tmp_path / "data", log_format="console", **ports)
        result = subprocess.run(AWOOOI + ["dev"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "is up" not in result.stderr
    assert f"the API cannot listen on 127.0.0.1:{ports['api_port']}" in result.stderr
    assert "Traceback" not in result.stderr
    for port in (ports["dev_temporal_port"], ports["dev_valkey_port"]):
        assert not port_open(port), f"port {port} still open after the failed start"


def test_worker_waits_for_temporal_with_one_line_per_try(tmp_path: Path, valkey_url) -> None:
    """A worker started before Temporal (a normal deployment order) retries, saying where it looks."""
    address = f"127.0.0.1:{free_port()}"
    env = _env(temporal_address=address, redis_url=valkey_url, worker_metrics_port=0, log_format="console")
    proc = subprocess.Popen(AWOOOI + ["worker"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(4)
        assert proc.poll() is None, "the worker keeps trying instead of exiting"
    finally:
        code = _stop(proc, signal.SIGTERM)
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert code == 0, out[-2000:]
    assert "cannot reach Temporal yet; retrying" in out and address in out
    assert "Traceback" not in out


@pytest.mark.parametrize("command", ["worker", "api"])
def test_production_commands_serve_and_stop_on_sigterm(command: str, temporal_env, valkey_url) -> None:
    address = temporal_env.client.service_client.config.target_host
    metrics_port, api_port = free_port(), free_port()
    env = _env(temporal_address=address, redis_url=valkey_url, worker_metrics_port=metrics_port,
               api_port=api_port, task_queue=f"cmd-{metrics_port}")
    proc = subprocess.Popen(AWOOOI + [command], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        if command == "worker":
            body = _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", timeout=60).text
            assert "awoooi_telegram_messages_total" in body
            assert not port_open(api_port), "the worker alone serves no API"
        else:
            # No worker polls this task queue: the API is up, and its health says what is missing.
            health = _wait_http(f"http://127.0.0.1:{api_port}/api/v1/health", timeout=60, accept=(503,)).json()
            assert health["temporal"] == "ok" and health["valkey"] == "ok" and health["down"] == ["worker"]
            assert not port_open(metrics_port), "the API serves metrics on its own port, not the worker's"
    finally:
        code = _stop(proc, signal.SIGTERM)
    assert code == 0, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
