"""Debian's real ``amtool`` against awoooi's Alertmanager-compatible silences API over TCP: it adds,
queries and expires silences with the API token from ``--http.config.file``, and is refused without it.

amtool runs as a subprocess on the event loop (``asyncio.create_subprocess_exec``): the API it talks
to is uvicorn on this same loop. Outside CI a machine without amtool skips; under ``CI`` it fails.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from redis.asyncio import Redis
from temporalio.client import Client

from activities.valkey.silences import RedisSilenceStore
from tests.conftest import debian_binary
from tests.harness import serving, settings_for

API_TOKEN = "amtool-tok-3b9e71c2d5a8"


async def amtool(binary: str, url: str, *args: str, config: Path | None = None) -> tuple[int, str, str]:
    argv = [binary, f"--alertmanager.url={url}", "--timeout=10s"]
    if config is not None:
        argv.append(f"--http.config.file={config}")
    proc = await asyncio.create_subprocess_exec(*argv, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_amtool_adds_queries_and_expires_silences(temporal_client: Client, valkey_url: str, redis: Redis,
                                                        task_queue: str, tmp_path: Path) -> None:
    binary = debian_binary("amtool")
    config = tmp_path / "http.yml"
    config.write_text(f"authorization:\n  credentials: {API_TOKEN}\n")
    settings = settings_for(valkey_url, task_queue, api_token=API_TOKEN)
    async with serving(temporal_client, settings, worker=False) as api:
        code, out, err = await amtool(binary, api.base_url, "silence", "add", "alertname=DiskFull",
                                      'instance=~"db-.*"', "--duration=1h", "--comment=disk swap tonight",
                                      "--author=oncall", config=config)
        assert code == 0, err
        sid = out.strip()
        stored = await RedisSilenceStore(redis).get(sid)
        assert stored is not None and stored.comment == "disk swap tonight" and stored.created_by == "oncall"
        assert [str(m) for m in stored.matchers] == ['alertname="DiskFull"', 'instance=~"db-.*"']

        code, out, err = await amtool(binary, api.base_url, "silence", "query", "-o", "json", config=config)
        assert code == 0, err
        listed = json.loads(out)
        assert [(s["id"], s["status"]["state"], s["createdBy"]) for s in listed] == [(sid, "active", "oncall")]

        code, out, err = await amtool(binary, api.base_url, "silence", "query", "alertname=DiskFull", "-q",
                                      config=config)
        assert code == 0 and out.split() == [sid], err
        code, out, _ = await amtool(binary, api.base_url, "silence", "query", "alertname=Other", "-q", config=config)
        assert code == 0 and out.split() == []

        code, out, err = await amtool(binary, api.base_url, "silence", "expire", sid, config=config)
        assert code == 0, err
        code, out, err = await amtool(binary, api.base_url, "silence", "query", "-o", "json", config=config)
        assert code == 0 and json.loads(out) == [], err  # amtool hides expired silences...
        code, out, err = await amtool(binary, api.base_url, "silence", "query", "--expired", "-o", "json",
                                      config=config)
        assert [(s["id"], s["status"]["state"]) for s in json.loads(out)] == [(sid, "expired")]  # ...kept, not removed


async def test_amtool_without_the_token_is_refused(temporal_client: Client, valkey_url: str, redis: Redis,
                                                   task_queue: str, tmp_path: Path) -> None:
    binary = debian_binary("amtool")
    wrong = tmp_path / "wrong.yml"
    wrong.write_text("authorization:\n  credentials: not-the-token\n")
    settings = settings_for(valkey_url, task_queue, api_token=API_TOKEN)
    async with serving(temporal_client, settings, worker=False) as api:
        for config in (None, wrong):
            code, out, err = await amtool(binary, api.base_url, "silence", "add", "alertname=DiskFull",
                                          "--comment=nope", "--author=mallory", config=config)
            assert code != 0 and "401" in err, (out, err)
            code, out, err = await amtool(binary, api.base_url, "silence", "query", config=config)
            assert code != 0 and "401" in err, (out, err)
        assert await RedisSilenceStore(redis).all() == []
