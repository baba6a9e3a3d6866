"""Silences in the real Valkey, and the silence activities (Temporal's ActivityEnvironment), in
simulated time: start, end, expiry, Alertmanager's update rules, maintenance windows, the verdict's
``until`` over overlapping silences and windows, and survival of a Valkey restart (AOF)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from temporalio.testing import ActivityEnvironment

from activities.silences.activities import SilenceActivities
from activities.silences.maintenance_file import MaintenanceFile
from activities.valkey.silences import EXPIRED_RETENTION, RedisSilenceStore
from core.maintenance import MaintenanceInvalid
from core.silence_edits import expire, post
from core.silence_inputs import SilenceCreateInput, SilenceExpireInput, SilenceVerdictInput
from core.silences import Matcher, Silence, SilenceInvalid, SilenceState
from tests.valkey_faults import OwnValkey

T0 = datetime(2026, 12, 11, 21, 0, tzinfo=UTC)  # a Friday, 22:00 in Berlin
LABELS = {"alertname": "DiskFull", "service": "postgres", "env": "prod"}
NIGHTS = """
time_intervals:
  - name: friday-night
    time_intervals:
      - weekdays: [friday]
        times: [{start_time: 22:00, end_time: 24:00}]
        location: Europe/Berlin
      - weekdays: [saturday]
        times: [{start_time: 00:00, end_time: 06:00}]
        location: Europe/Berlin
windows:
  - name: db-nightly
    matchers: ['service="postgres"']
    time_intervals: [friday-night]
"""


def make(start: datetime = T0, hours: float = 1, sid: str = "", **labels: str) -> Silence:
    matchers = [Matcher(name=k, value=v) for k, v in (labels or {"alertname": "DiskFull"}).items()]
    return Silence(id=sid or str(uuid.uuid4()), matchers=matchers, startsAt=start,
                   endsAt=start + timedelta(hours=hours), createdBy="alice", comment="night shift", updatedAt=start)


class NoWindows:
    def windows(self):  # noqa: ANN201
        return ()


async def test_live_lists_active_and_pending_not_expired(redis: Redis) -> None:
    store = RedisSilenceStore(redis)
    ended, active, pending = make(T0 - timedelta(hours=2)), make(T0 - timedelta(minutes=5)), make(T0 + timedelta(hours=1))
    await store.put([ended, active, pending], T0)
    assert {s.id for s in await store.live(T0)} == {active.id, pending.id}
    assert {s.id for s in await store.all()} == {ended.id, active.id, pending.id}
    assert (await store.get(active.id)) == active


async def test_expired_silences_are_kept_five_days_then_pruned(redis: Redis) -> None:
    store = RedisSilenceStore(redis)
    old = make(T0 - EXPIRED_RETENTION - timedelta(hours=2))
    recent = make(T0 - timedelta(days=4))
    await store.put([old, recent], T0 - timedelta(days=30))  # written long ago: nothing pruned yet
    await store.put([make()], T0)
    ids = {s.id for s in await store.all()}
    assert old.id not in ids and recent.id in ids


async def test_alertmanagers_update_rules() -> None:
    now = T0
    active = make(T0 - timedelta(minutes=10))
    # Same matchers, same start, later end: updated in place, same id.
    longer = active.model_copy(update={"ends_at": active.ends_at + timedelta(hours=3), "comment": "longer"})
    edit = post(longer, active, now, "new-id")
    assert edit.silence_id == active.id and edit.writes[0].comment == "longer"
    # Other matchers: a new silence replaces it, the old one expires now.
    other = active.model_copy(update={"matchers": [Matcher(name="alertname", value="Other")]})
    edit = post(other, active, now, "new-id")
    assert edit.silence_id == "new-id"
    assert [w.id for w in edit.writes] == ["new-id", active.id]
    assert edit.writes[1].state(now) is SilenceState.EXPIRED and edit.writes[1].ends_at == now
    # A new silence starting in the past starts now; one ending in the past is refused.
    fresh = post(make(T0 - timedelta(minutes=30), sid="x"), None, now, "id2").writes[0]
    assert fresh.starts_at == now
    with pytest.raises(SilenceInvalid, match="end time can't be in the past"):
        post(make(T0 - timedelta(hours=3)), None, now, "id3")
    with pytest.raises(SilenceInvalid, match="start time must be before end time"):
        post(make(T0, hours=0), None, now, "id4")
    # Expiring: active ends now, pending starts and ends now, expired stays.
    pending = make(T0 + timedelta(hours=1))
    assert expire(pending, now).starts_at == now == expire(pending, now).ends_at
    gone = expire(active, now)
    assert expire(gone, now + timedelta(minutes=1)) is gone


async def test_verdict_silence_start_and_end_in_simulated_time(redis: Redis) -> None:
    store = RedisSilenceStore(redis)
    acts = SilenceActivities(store, NoWindows())
    env = ActivityEnvironment()
    first = make(T0, hours=1, alertname="DiskFull")
    second = make(T0 + timedelta(minutes=50), hours=2, service="postgres")  # overlaps the first's end
    await store.put([first, second], T0)

    def ask(at: datetime, workflow_id: str = ""):  # noqa: ANN202
        return env.run(acts.verdict, SilenceVerdictInput(labels=LABELS, at=at, workflow_id=workflow_id))

    before = await ask(T0 - timedelta(seconds=1))
    assert not before.silenced and before.until is None
    during = await ask(T0 + timedelta(minutes=10), workflow_id="alertmanager-wf-1")
    assert during.silenced and during.silence_ids == [first.id]
    # Handed over to the second (pending now, active before the first ends): silenced until its end.
    assert during.until == second.ends_at
    assert await store.watchers(first.id) == ["alertmanager-wf-1"]
    after = await ask(second.ends_at)
    assert not after.silenced
    assert (await ask(T0 + timedelta(minutes=10))).windows == []


async def test_maintenance_window_in_the_verdict_crossing_midnight(redis: Redis, tmp_path: Path) -> None:
    path = tmp_path / "maintenance.yaml"
    path.write_text(NIGHTS)
    acts = SilenceActivities(RedisSilenceStore(redis), MaintenanceFile(path))
    env = ActivityEnvironment()
    at = T0 + timedelta(minutes=30)  # Friday 22:30 Berlin
    answer = await env.run(acts.verdict, SilenceVerdictInput(labels=LABELS, at=at))
    assert answer.silenced and answer.windows == ["db-nightly"] and answer.silence_ids == []
    assert answer.until == datetime(2026, 12, 12, 5, 0, tzinfo=UTC)  # Saturday 06:00 Berlin
    assert answer.attribute() == "window:db-nightly"
    other = await env.run(acts.verdict, SilenceVerdictInput(labels={"service": "web"}, at=at))
    assert not other.silenced
    # A silence running past the window's end extends it; the verdict names both.
    store = RedisSilenceStore(redis)
    long = make(T0, hours=12, service="postgres")
    await store.put([long], T0)
    both = await env.run(acts.verdict, SilenceVerdictInput(labels=LABELS, at=at))
    assert both.until == long.ends_at and both.silence_ids == [long.id] and both.windows == ["db-nightly"]


async def test_maintenance_file_reloads_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(NIGHTS)
    source = MaintenanceFile(path)
    assert [w.name for w in source.windows()] == ["db-nightly"]
    path.write_text("windows: [{name: broken}]")
    os.utime(path, ns=(1, 1))
    assert [w.name for w in source.windows()] == ["db-nightly"]
    path.write_text('{"windows": []}')
    json_path = path.rename(tmp_path / "m.json")
    assert MaintenanceFile(json_path).windows() == ()
    with pytest.raises(MaintenanceInvalid, match="time_intervals must list"):  # a broken file at start stops the process
        MaintenanceFile(_write(tmp_path / "bad.yaml", "windows: [{name: w, matchers: ['a=b']}]"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_create_and_expire_activities_are_idempotent(redis: Redis) -> None:
    store = RedisSilenceStore(redis)
    acts = SilenceActivities(store, NoWindows())
    env = ActivityEnvironment()
    inp = SilenceCreateInput(silence_id="sil-1", labels=LABELS, at=T0, duration=timedelta(hours=1),
                             created_by="@alice (telegram)")
    assert await env.run(acts.create, inp) == "sil-1"
    assert await env.run(acts.create, inp.model_copy(update={"at": T0 + timedelta(minutes=1)})) == "sil-1"
    stored = await store.get("sil-1")
    assert stored is not None and stored.starts_at == T0  # the retry wrote nothing
    assert [str(m) for m in stored.matchers] == ['alertname="DiskFull"', 'env="prod"', 'service="postgres"']
    mute = SilenceCreateInput(silence_id="sil-2", labels=LABELS, at=T0, created_by="bob")
    await env.run(acts.create, mute)
    assert (await store.get("sil-2")).comment == "muted until resolved"  # type: ignore[union-attr]
    resolved = T0 + timedelta(hours=5)
    assert await env.run(acts.expire, SilenceExpireInput(silence_id="sil-2", at=resolved))
    assert await env.run(acts.expire, SilenceExpireInput(silence_id="sil-2", at=resolved + timedelta(hours=1)))
    assert (await store.get("sil-2")).ends_at == resolved  # type: ignore[union-attr]
    assert not await env.run(acts.expire, SilenceExpireInput(silence_id="nope", at=resolved))


async def test_silences_survive_a_valkey_kill_9(own_valkey: OwnValkey) -> None:
    redis = Redis.from_url(own_valkey.url, decode_responses=True)
    try:
        silence = make(datetime.now(UTC), hours=1)
        await RedisSilenceStore(redis).put([silence], datetime.now(UTC))
    finally:
        await redis.aclose()
    own_valkey.restart()  # SIGKILL: only what the AOF has
    redis = Redis.from_url(own_valkey.url, decode_responses=True)
    try:
        assert await RedisSilenceStore(redis).get(silence.id) == silence
    finally:
        await redis.aclose()


async def test_a_process_copy_follows_every_write_of_another(redis: Redis) -> None:
    """Two stores stand for two processes: the reader's copy is replaced whenever the writer writes,
    and a verdict asked as of an earlier instant than its copy reaches is read afresh."""
    reader, writer = RedisSilenceStore(redis), RedisSilenceStore(redis)
    assert await reader.live(T0) == []
    first = make(T0, hours=1)
    await writer.put([first], T0)
    assert [s.id for s in await reader.live(T0)] == [first.id]
    await writer.edit(first.id, lambda current: [expire(current, T0 + timedelta(minutes=1))], T0)  # type: ignore[arg-type]
    assert await reader.live(T0 + timedelta(minutes=2)) == []
    assert [s.id for s in await reader.live(T0 + timedelta(seconds=30))] == [first.id]
    assert [s.id for s in await reader.live(T0 - timedelta(days=3))] == [first.id]  # pending then, read afresh
