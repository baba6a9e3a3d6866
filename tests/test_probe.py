"""The alert chain watches itself (issue 7): the AlertChainProbe on real Temporal, Valkey and a real
TCP API, with the Telegram and Sentry loopbacks; faults turn it red with one direct message."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

import httpx
from prometheus_client import generate_latest
from temporalio.client import Client

from activities.valkey import keys as redis_keys
from core.probe import ProbeInput, ProbeReport
from starter.embedded import free_port
from starter.probe_cli import probe_once
from worker.schedule import SCHEDULE_ID, control_schedule, ensure_probe_schedule
from tests.harness import CHAT_ID, Serving, eventually, serving, settings_for
from worker.wiring import chain_checks
from workflows.probe import AlertChainProbe

PROBE_CHAT = "-1009999999999"


@asynccontextmanager
async def chain(client: Client, valkey_url: str, task_queue: str, telegram, sentry, *, worker: bool = True,
                **overrides) -> AsyncIterator[Serving]:
    port = free_port()
    settings = settings_for(valkey_url, task_queue, telegram, sentry, api_base=f"http://127.0.0.1:{port}",
                            webhook_token="probe-webhook-token", sentry_client_secret="probe-client-secret",
                            **overrides)
    async with serving(client, settings, worker=worker, port=port) as served:
        if worker:
            async def polled() -> bool:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{served.base_url}/api/v1/health")).status_code == 200
            await eventually(polled, what="the worker's first poll")
        yield served


async def run_probe(client: Client, task_queue: str, deadline: float = 20.0) -> ProbeReport:
    return await client.execute_workflow(AlertChainProbe.run, ProbeInput(deadline_seconds=deadline),
                                         id=f"probe-test-{uuid.uuid4()}", task_queue=task_queue,
                                         result_type=ProbeReport)


def direct_messages(telegram) -> list[str]:
    return [m["text"] for m in telegram.sent if m["chat_id"] == CHAT_ID]


async def test_a_run_passes_every_link_and_leaves_nothing_open(temporal_client, valkey_url, redis, task_queue,
                                                               telegram, sentry) -> None:
    async with chain(temporal_client, valkey_url, task_queue, telegram, sentry,
                     telegram_probe_chat_id=PROBE_CHAT) as served:
        report = await run_probe(temporal_client, task_queue)
        assert report.ok, report
        assert [link.link for link in report.links] == ["api", "alertmanager", "sentry", "telegram", "sentry_api"]
        assert all(link.seconds > 0 and link.error is None for link in report.links)
        # Probe cards went to the probe chat only; no comment on Sentry, no learning, nothing open.
        assert {m["chat_id"] for m in telegram.sent} == {PROBE_CHAT} and len(telegram.sent) == 2
        assert sentry.comments == {}
        assert await redis.keys("awoooi:learning:occurrences:*") == []
        # Every probe workflow has returned its result; visibility lists it as closed a moment later.
        async def nothing_running() -> bool:
            return [w async for w in temporal_client.list_workflows(
                f'TaskQueue="{task_queue}" AND ExecutionStatus="Running"')] == []
        await eventually(nothing_running, timeout=15, what="visibility to list no running workflow")
        metrics = generate_latest(served.metrics.registry).decode()
        assert 'awoooi_probe_success{link="alertmanager"} 1.0' in metrics
        assert "awoooi_probe_last_success_timestamp " in metrics


async def test_without_a_probe_chat_the_notify_step_sends_nothing(temporal_client, valkey_url, redis, task_queue,
                                                                  telegram, sentry) -> None:
    async with chain(temporal_client, valkey_url, task_queue, telegram, sentry):
        report = await run_probe(temporal_client, task_queue)
        assert report.ok, report
        assert telegram.sent == []


async def test_a_broken_telegram_sends_one_message_per_outage_and_one_recovery(
        temporal_client, valkey_url, redis, task_queue, telegram, sentry) -> None:
    async with chain(temporal_client, valkey_url, task_queue, telegram, sentry):
        telegram.fail_next("getMe", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, times=2)
        first = await run_probe(temporal_client, task_queue)
        second = await run_probe(temporal_client, task_queue)
        assert not first.ok and not second.ok
        assert [link.link for link in first.broken()] == ["telegram"]
        assert "401" in (first.broken()[0].error or "")
        messages = direct_messages(telegram)
        assert len(messages) == 1, messages
        assert "alert chain broken" in messages[0] and "telegram" in messages[0]
        assert telegram.token not in messages[0]
        assert await redis.hget(redis_keys.probe_outage(), "announced") == "1"

        recovered = await run_probe(temporal_client, task_queue)
        assert recovered.ok, recovered
        messages = direct_messages(telegram)
        assert len(messages) == 2 and "alert chain restored after" in messages[1]
        assert await redis.exists(redis_keys.probe_outage()) == 0
        await run_probe(temporal_client, task_queue)
        assert len(direct_messages(telegram)) == 2


async def test_awoooi_probe_exits_1_without_a_worker_then_0(temporal_client, valkey_url, redis, task_queue,
                                                            telegram, sentry) -> None:
    for worker, expected in ((False, 1), (True, 0)):
        async with chain(temporal_client, valkey_url, task_queue, telegram, sentry, worker=worker,
                         probe_deadline=8.0) as served:
            out = io.StringIO()
            code = await probe_once(temporal_client, lambda c, http: chain_checks(served.settings, c, http),
                                    served.base_url, 8.0, out, as_json=False)
            assert code == expected, out.getvalue()
            text = out.getvalue()
            assert ("✗" in text) is (expected == 1) and "✓" in text
            if not worker:
                assert "worker" in text
        for execution in [w async for w in temporal_client.list_workflows(f'TaskQueue="{task_queue}"')]:
            if execution.status and execution.status.name == "RUNNING":
                await temporal_client.get_workflow_handle(execution.id).terminate("test")
    out = io.StringIO()
    await probe_once(None, lambda c, http: chain_checks(served.settings, c, http), served.base_url, 2.0, out,
                     as_json=True)
    answer = json.loads(out.getvalue())
    assert answer["ok"] is False and {link["link"] for link in answer["links"]} >= {"api", "alertmanager"}


async def test_the_schedule_is_created_once_and_kept_up_to_date(temporal_client, valkey_url, task_queue) -> None:
    settings = settings_for(valkey_url, task_queue, probe_interval=120)
    try:
        assert await ensure_probe_schedule(temporal_client, settings) in ("created", "updated")
        assert await ensure_probe_schedule(temporal_client, settings) == "updated"
        described = await temporal_client.get_schedule_handle(SCHEDULE_ID).describe()
        assert described.schedule.spec.intervals[0].every.total_seconds() == 120
        assert described.schedule.policy.catchup_window.total_seconds() == 120
        assert described.schedule.policy.overlap.name == "SKIP"
        # Its runs go ahead of any backlog in the task queue (core/priority.py).
        assert described.schedule.action.priority.priority_key == 1
        assert "paused" in await control_schedule(temporal_client, settings, "pause")
        handle = temporal_client.get_schedule_handle(SCHEDULE_ID)

        async def paused() -> bool:
            return (await handle.describe()).schedule.state.paused

        # The pause is a patch the schedule's own workflow applies; the update reads it back from there.
        await eventually(paused, what="the pause applied")
        faster = settings.model_copy(update={"probe_interval": 60})
        await ensure_probe_schedule(temporal_client, faster)
        described = await temporal_client.get_schedule_handle(SCHEDULE_ID).describe()
        assert described.schedule.state.paused, "an update keeps the operator's pause"
        assert described.schedule.spec.intervals[0].every.total_seconds() == 60
    finally:
        await temporal_client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_the_worker_creates_the_schedule_and_a_triggered_run_passes(temporal_env, temporal_client, valkey_url,
                                                                          redis, task_queue, telegram, sentry) -> None:
    """`awoooi dev`'s shape: the worker and the API in one process; the schedule exists, a trigger runs green,
    and the API's /metrics shows the probe's and the Temporal SDK's metrics."""
    import asyncio

    from starter.dev import worker_and_api

    port = free_port()
    settings = settings_for(valkey_url, task_queue, telegram, sentry, api_port=port,
                            temporal_address=temporal_env.client.service_client.config.target_host,
                            worker_metrics_port=0, probe_deadline=20.0)
    stop = asyncio.Event()
    served = asyncio.create_task(worker_and_api(settings, stop=stop))
    schedule = temporal_client.get_schedule_handle(SCHEDULE_ID)
    try:
        async def scheduled() -> bool:
            try:
                return (await schedule.describe()).schedule.action.task_queue == task_queue
            except Exception:  # noqa: BLE001 - not created yet
                return False
        await eventually(scheduled, what="the probe schedule")
        await control_schedule(temporal_client, settings, "trigger")

        async def finished() -> list:
            runs = [w async for w in temporal_client.list_workflows(
                f'WorkflowType="AlertChainProbe" AND TaskQueue="{task_queue}" AND ExecutionStatus="Completed"')]
            return runs
        await eventually(finished, timeout=60, what="a triggered probe run")
        (run,) = await finished()
        report = await temporal_client.get_workflow_handle(run.id, run_id=run.run_id,
                                                           result_type=ProbeReport).result()
        assert report.ok, report
        async with httpx.AsyncClient() as http:
            async def scraped() -> str:
                return (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            text = await scraped()
            assert 'awoooi_probe_success{link="sentry"} 1.0' in text
            # The SDK's metrics arrive with the worker's next scheduled drain (every second).
            await eventually(lambda: _contains(scraped(), "temporal_workflow_task_schedule_to_start_latency"),
                             timeout=10, what="the SDK's metrics on /metrics")
    finally:
        stop.set()
        await asyncio.wait_for(served, 30)
        await schedule.delete()


async def test_the_awoooi_probe_command(temporal_env, temporal_client, valkey_url, redis, task_queue,
                                        telegram, sentry) -> None:
    import asyncio
    import os
    import sys
    from pathlib import Path

    async with chain(temporal_client, valkey_url, task_queue, telegram, sentry) as served:
        env = {**os.environ, "AWOOOI_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
               "AWOOOI_WEBHOOK_TOKEN": "probe-webhook-token", "AWOOOI_SENTRY_CLIENT_SECRET": "probe-client-secret",
               "AWOOOI_PROBE_DEADLINE": "15", "AWOOOI_API_BASE": "http://127.0.0.1:9"}
        awoooi = str(Path(sys.executable).with_name("awoooi"))
        process = await asyncio.create_subprocess_exec(
            awoooi, "probe", "--api-base", served.base_url, "--json", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, (out, err)
        answer = json.loads(out.splitlines()[-1])
        assert answer["ok"] is True and answer["api_base"] == served.base_url
        # Without --api-base the setting is used: nothing listens there.
        process = await asyncio.create_subprocess_exec(
            awoooi, "probe", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, (out, err)
        text = out.decode()
        assert "✗" in text and "http://127.0.0.1:9" in text and "probe-webhook-token" not in text + err.decode()


async def test_no_worker_on_the_alerts_queue_turns_the_run_red_then_recovers(
        temporal_client, valkey_url, redis, task_queue, telegram, sentry) -> None:
    """The issue's case: the API takes alerts onto a queue no worker polls. The probe (run by a worker
    elsewhere) goes red with one direct message; a worker coming back brings one recovery message."""
    from redis.asyncio import Redis

    from core.metrics import Metrics
    from prometheus_client import CollectorRegistry
    from worker.wiring import build_activities, build_worker

    alerts_queue = f"{task_queue}-alerts"
    port = free_port()
    common = {"api_base": f"http://127.0.0.1:{port}", "webhook_token": "probe-webhook-token"}
    api_settings = settings_for(valkey_url, alerts_queue, telegram, sentry, **common)
    probe_settings = settings_for(valkey_url, task_queue, telegram, sentry, **common)
    store = Redis.from_url(valkey_url, decode_responses=True)
    async with httpx.AsyncClient(timeout=5.0) as http, serving(temporal_client, api_settings, worker=False, port=port):
        metrics = Metrics(CollectorRegistry())
        probe_worker = build_worker(temporal_client, probe_settings,
                                    build_activities(probe_settings, store, http, metrics, temporal_client))
        async with probe_worker:
            red = await run_probe(temporal_client, task_queue, deadline=5.0)
            again = await run_probe(temporal_client, task_queue, deadline=5.0)
            assert not red.ok and not again.ok
            broken = {link.link: link.error for link in red.broken()}
            assert set(broken) == {"api", "alertmanager", "sentry"}, broken
            assert "worker" in (broken["api"] or "")
            assert len(direct_messages(telegram)) == 1
            # Nothing left open by the failed runs (their probe incidents were terminated).
            assert [w async for w in temporal_client.list_workflows(
                f'TaskQueue="{alerts_queue}" AND ExecutionStatus="Running"')] == []

            alerts_worker = build_worker(temporal_client, api_settings,
                                         build_activities(api_settings, store, http, metrics, temporal_client))
            async with alerts_worker:
                async def healthy() -> bool:
                    return (await http.get(f"http://127.0.0.1:{port}/api/v1/health")).status_code == 200
                await eventually(healthy, what="the alerts worker's first poll")
                green = await run_probe(temporal_client, task_queue, deadline=15.0)
                assert green.ok, green
            messages = direct_messages(telegram)
            assert len(messages) == 2 and "restored" in messages[1]
    await store.aclose()


async def test_a_refused_sentry_token_breaks_the_sentry_api_link_without_showing_it(
        valkey_url, task_queue, telegram, sentry) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, sentry)
    async with httpx.AsyncClient(timeout=5.0) as http:
        checks = chain_checks(settings, None, http)
        assert (await checks.sentry_api(5.0)).ok
        sentry.fail_next(401, {"detail": "Invalid token"})
        refused = await checks.sentry_api(5.0)
        assert not refused.ok and "HTTP 401" in (refused.error or "")
        assert sentry.token not in (refused.error or "")
        unconfigured = chain_checks(settings_for(valkey_url, task_queue), None, http)
        skipped = await unconfigured.sentry_api(5.0)
        assert skipped.ok and skipped.skipped


@asynccontextmanager
async def _api_that_drops(connections_dropped: int) -> AsyncIterator[str]:
    """A stand-in for the API's /api/v1/health that closes its first ``connections_dropped``
    connections after reading the request, without an answer: what a keep-alive connection the
    server closes as idle looks like to a client that has just sent a request down it."""
    import asyncio

    seen = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        seen += 1
        await reader.readuntil(b"\r\n\r\n")
        if seen <= connections_dropped:
            writer.close()
            return
        body = json.dumps({"status": "ok", "worker": "ok", "down": []}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                     + f"content-length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_the_api_link_sends_its_get_again_when_a_pooled_connection_was_closed_under_it(
        valkey_url, task_queue) -> None:
    async with _api_that_drops(1) as base, httpx.AsyncClient(timeout=5.0) as http:
        result = await chain_checks(settings_for(valkey_url, task_queue, api_base=base), None, http).api(5.0)
    assert result.ok, result


async def test_the_api_link_is_broken_when_the_api_drops_the_get_twice(valkey_url, task_queue) -> None:
    async with _api_that_drops(2) as base, httpx.AsyncClient(timeout=5.0) as http:
        result = await chain_checks(settings_for(valkey_url, task_queue, api_base=base), None, http).api(5.0)
    assert not result.ok and "RemoteProtocolError" in (result.error or ""), result


async def _contains(text, needle: str) -> bool:  # noqa: ANN001
    return needle in await text
