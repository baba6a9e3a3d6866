"""Every line a process writes is JSON when not on a terminal (issue 19): awoooi's own, uvicorn's,
the Temporal SDK's (its Python side, and its core's, written in Rust), Python warnings and
tracebacks. (The worker's log is checked whole in tests/test_worker_telemetry.py.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import structlog
from redis.asyncio import Redis

from core.logging import SDK_CORE_LOGGER, configure_logging
from starter.embedded import free_port, temporal_dev_server
from tests.alert_flow import ALERTMANAGER, alertmanager_body
from tests.harness import eventually

AWOOOI = str(Path(sys.executable).parent / "awoooi")


def every_line_json(log: Path) -> list[dict]:
    lines = []
    for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
        assert "\x1b[" not in line, f"{log.name}:{number} has terminal colours: {line[:200]!r}"
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"{log.name}:{number} is not JSON: {line[:300]!r}") from None
    return lines


async def test_the_api_process_logs_json_only_even_when_temporal_does_not_answer(valkey_url, tmp_path) -> None:
    """`awoooi api` with stderr to a file: uvicorn's lines, and the SDK core's "gRPC call ... retried"
    warnings once Temporal is stopped (plain coloured text before), are JSON like every other line."""
    # A database of its own: the delivery it spools must not reach other tests' spool drainers.
    own_db = valkey_url.rsplit("/", 1)[0] + "/7"
    temporal_port, api_port = free_port(), free_port()
    temporal = temporal_dev_server(tmp_path / "temporal", port=temporal_port, ui_port=None)
    temporal.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")} | {
        "AWOOOI_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}", "AWOOOI_REDIS_URL": own_db,
        "AWOOOI_API_PORT": str(api_port), "AWOOOI_TASK_QUEUE": f"json-logs-{api_port}", "AWOOOI_LOG_FORMAT": "auto",
    }
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen([AWOOOI, "api"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{api_port}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            async def ready() -> bool:
                try:
                    return (await http.get(base + "/api/v1/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=60, what="the API to be ready")
            with socket.create_connection(("127.0.0.1", api_port)) as raw:  # uvicorn: "Invalid HTTP request"
                raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                raw.recv(1024)
            temporal.stop()
            answer = await http.post(base + ALERTMANAGER, content=alertmanager_body("JsonLogs"),
                                     headers={"content-type": "application/json"})
            assert answer.status_code == 200 and answer.json()["alerts"][0]["status"] == "spooled", answer.text
            await eventually(lambda: "temporalio_client::retry" in log.read_text(), timeout=30,
                             what="the SDK core's retry warning")
        os.kill(api.pid, signal.SIGTERM)
        await asyncio.to_thread(api.wait, 30)
    finally:
        if api.poll() is None:
            api.kill()
            api.wait(10)
        temporal.stop()
        spool = Redis.from_url(own_db)
        await spool.flushdb()
        await spool.aclose()
    lines = every_line_json(log)
    core = [line for line in lines if line.get("logger") == SDK_CORE_LOGGER]
    assert core and core[0]["target"] == "temporalio_client::retry" and core[0]["level"] == "warning", core[:3]
    assert "retried" in core[0]["event"] and "error" in core[0].get("fields", {}), core[0]
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines), lines
    assert all({"event", "level", "timestamp"} <= set(line) for line in lines), lines


@pytest.fixture
def json_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """configure_logging(json) for one test (called in the test, where capsys holds stderr), and
    everything it changes put back after."""
    root = logging.getLogger()
    quieted = [logging.getLogger(name) for name in ("httpx", "httpcore", "uvicorn.access")]
    levels = [logger.level for logger in quieted]
    saved = (root.handlers[:], root.level, structlog.get_config(), sys.excepthook, threading.excepthook)
    try:
        yield capsys
    finally:
        root.handlers[:], level, config, sys.excepthook, threading.excepthook = saved
        root.setLevel(level)
        for logger, was in zip(quieted, levels, strict=True):
            logger.setLevel(was)
        structlog.configure(**config)
        logging.captureWarnings(False)


def records(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_stdlib_records_warnings_and_tracebacks_are_json(json_logging: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)
    warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
    worker = threading.Thread(target=lambda: 1 / 0, name="doomed")
    worker.start()
    worker.join()
    logging.getLogger(SDK_CORE_LOGGER).warning(
        "gRPC call signal_with_start_workflow_execution retried 3 times",
        extra={"temporal_log": SimpleNamespace(target="temporalio_client::retry", fields={"error": "Unavailable"})})
    found = records(json_logging)
    assert [r["logger"] for r in found] == ["uvicorn.error", "uvicorn.error", "py.warnings", "awoooi", SDK_CORE_LOGGER]
    assert "ValueError: boom" in found[1]["exception"]
    assert "DeprecationWarning" in found[2]["event"]
    assert found[3]["thread_name"] == "doomed" and "ZeroDivisionError" in found[3]["exception"]
    assert found[4]["target"] == "temporalio_client::retry" and found[4]["fields"] == {"error": "Unavailable"}


def test_structlog_exceptions_are_one_json_field(json_logging: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        raise KeyError("missing")
    except KeyError:
        structlog.get_logger("awoooi.test").exception("failed", incident_id="x")
    (found,) = records(json_logging)
    assert found["incident_id"] == "x" and "KeyError: 'missing'" in found["exception"]
