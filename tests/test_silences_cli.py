"""`awoooi silences` as an operator runs it: a subprocess against the real Valkey, with a maintenance file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from activities.valkey.silences import RedisSilenceStore
from core.silences import Matcher, Silence

ROOT = Path(__file__).resolve().parents[1]
ALWAYS = """
windows:
  - name: every-day
    matchers: ['service="postgres"']
    time_intervals: [{times: [{start_time: 00:00, end_time: 24:00}]}]
"""


def _silences(valkey_url: str, maintenance: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")} | {"AWOOOI_REDIS_URL": valkey_url}
    if maintenance is not None:
        env["AWOOOI_MAINTENANCE_FILE"] = str(maintenance)
    return subprocess.run([sys.executable, "-m", "starter.cli", "silences", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def _silence(sid: str, start: datetime, hours: float) -> Silence:
    return Silence(id=sid, matchers=[Matcher(name="alertname", value="DiskFull")], startsAt=start,
                   endsAt=start + timedelta(hours=hours), createdBy="oncall", comment="disk swap")


async def test_silences_lists_live_ones_expired_with_all_and_windows(valkey_url: str, redis: Redis,
                                                                     tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await RedisSilenceStore(redis).put([_silence("live-1", now - timedelta(minutes=5), 1),
                                        _silence("old-1", now - timedelta(hours=3), 1)], now)
    maintenance = tmp_path / "maintenance.yaml"
    maintenance.write_text(ALWAYS)

    result = await asyncio.to_thread(_silences, valkey_url, maintenance, "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(s["id"], s["state"]) for s in listed["silences"]] == [("live-1", "active")]
    assert listed["windows"][0]["window"] == "every-day" and listed["windows"][0]["now"] == "inside"

    result = await asyncio.to_thread(_silences, valkey_url, None, "--all")
    assert result.returncode == 0, result.stderr
    assert "live-1" in result.stdout and "old-1" in result.stdout and "expired" in result.stdout
    assert 'alertname="DiskFull"' in result.stdout and "maintenance" not in result.stdout

    maintenance.write_text("windows: [{name: w}]")
    result = await asyncio.to_thread(_silences, valkey_url, maintenance)
    assert result.returncode == 2 and "AWOOOI_MAINTENANCE_FILE" in result.stderr
