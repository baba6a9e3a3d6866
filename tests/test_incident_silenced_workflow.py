"""A silenced incident on the time-skipping server (the real workflow, stand-in activities under the
real names): counted with no card while silenced, visible through ``Silenced``, its card once the
silence ends; a Silence button's update and the ``silence_changed`` signal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError

from activities.silences.activities import SilenceActivities
from activities.silences.maintenance_file import MaintenanceFile
from activities.valkey.silences import RedisSilenceStore
from core import search_attributes as sa
from core.identity import incident_ref
from core.incident.state import IncidentSettings, IncidentState
from core.silence_inputs import (
    SilenceCreateInput,
    SilenceExpireInput,
    SilenceRequest,
    SilenceVerdict,
    SilenceVerdictInput,
)
from core.timeline import model as k
from starter.timeline_reader import read_timeline
from tests.harness import eventually
from tests.standins import StandIns, deliver, firing, start


@dataclass
class SilencedStandIns(StandIns):
    """Also answers the silence activities: the alert is silenced for ``silenced_for`` from the first
    verdict (by a silence "s-1"), and a button's silence holds for its duration."""

    silenced_for: timedelta | None = None
    verdicts: list[SilenceVerdictInput] = field(default_factory=list)
    created: list[SilenceCreateInput] = field(default_factory=list)
    ends: datetime | None = None

    def activities(self) -> list[Any]:
        me = self

        @activity.defn(name="silence_verdict")
        async def verdict(inp: SilenceVerdictInput) -> SilenceVerdict:
            me.calls["silence_verdict"] += 1
            me.verdicts.append(inp)
            if me.ends is None and me.silenced_for is not None:
                me.ends = inp.at + me.silenced_for
            if me.ends is None or inp.at >= me.ends:
                return SilenceVerdict(silenced=False)
            return SilenceVerdict(silenced=True, until=me.ends, silence_ids=["s-1"], created_by=["amtool"])

        @activity.defn(name="silence_create")
        async def create(inp: SilenceCreateInput) -> str:
            me.calls["silence_create"] += 1
            me.created.append(inp)
            me.ends = inp.at + (inp.duration or timedelta(days=30))
            return inp.silence_id

        @activity.defn(name="silence_expire")
        async def expire(inp: SilenceExpireInput) -> bool:
            me.calls["silence_expire"] += 1
            me.ends = inp.at
            return True

        return [*super().activities(), verdict, create, expire]


@pytest.fixture
def queue() -> str:
    return f"silenced-{uuid.uuid4()}"


def _settings(**kw: Any) -> IncidentSettings:
    return IncidentSettings(silences=True, silence_recheck_seconds=900, idle_timeout_seconds=6 * 3600, **kw)


async def _silenced_attribute(handle) -> str | None:  # noqa: ANN001
    described = await handle.describe()
    return described.typed_search_attributes.get(sa.SILENCED)


async def test_a_silenced_alert_gets_no_card_until_its_silence_ends_then_exactly_one(skipping_env, queue) -> None:
    fp = uuid.uuid4().hex[:16]
    acts = SilencedStandIns(_settings(), silenced_for=timedelta(minutes=40))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["silence_verdict"] == 1, what="the verdict")
        await deliver(handle, firing(fp, minute=1))
        await eventually(lambda: acts.calls["save_incident_batch"] == 1, what="the repeat counted")
        state = await handle.query("state", result_type=IncidentState)
        assert state.silenced == "silence:s-1" and state.occurrences == 2 and state.message_id is None
        assert await _silenced_attribute(handle) == "silence:s-1"
        assert acts.calls["place_card"] == 0 and acts.calls["recommend_repair"] == 0
        await skipping_env.sleep(20 * 60)  # one bounded re-ask (15 min): still silenced
        assert acts.calls["place_card"] == 0
        await skipping_env.sleep(25 * 60)  # the silence's end: the card goes out now
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card after the silence")
        assert acts.placed[0].view.occurrences == 2 and not acts.placed[0].view.silenced
        await eventually(lambda: acts.calls["silence_verdict"] == 4, what="the verdicts (0, 15, 30, 40 min)")
        assert await _silenced_attribute(handle) is None
        await skipping_env.sleep(3600)
        assert acts.calls["place_card"] == 1 and acts.calls["silence_verdict"] == 4
        await handle.terminate("done")


async def test_a_silence_button_edits_the_card_and_an_early_expiry_signal_lifts_it(skipping_env, queue) -> None:
    fp = uuid.uuid4().hex[:16]
    acts = SilencedStandIns(_settings())
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        assert acts.placed[0].view.silence_token == acts.verdicts[0].button != ""
        answer = await handle.execute_update("silence", SilenceRequest(duration=timedelta(hours=4), by="@alice"))
        assert answer["accepted"] and answer["message"] == "Silenced by @alice for 4h"
        await eventually(lambda: acts.edits and acts.edits[-1].view.silenced_by == "amtool", what="silenced card")
        assert acts.created[0].labels["alertname"] == "KubeHpaMaxedOut"
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("silence", SilenceRequest(duration=timedelta(0), by="@alice"))
        acts.ends = None  # expired through the API, which signals the workflows it silenced
        await handle.signal("silence_changed")
        await eventually(lambda: acts.edits and not acts.edits[-1].view.silenced, what="the card unsilenced")
        assert acts.calls["place_card"] == 1
        timeline = await read_timeline(skipping_env.client, incident_ref(firing(fp).alert).incident_id)
        assert (k.SILENCED, "@alice", "telegram") in [(e.kind, e.actor, e.via) for e in timeline.entries]
        assert [e.detail for e in timeline.unknown] == [], "the verdict, the silence and Silenced are known words"
        await handle.terminate("done")


async def test_a_worker_restart_while_silenced_neither_loses_nor_repeats_the_held_card(skipping_env, queue) -> None:
    """The silence's deadline is a durable timer: a new worker replays the silenced history (the verdict,
    the attribute, the held card) and sends the card once when the silence ends."""
    fp = uuid.uuid4().hex[:16]
    acts = SilencedStandIns(_settings(), silenced_for=timedelta(minutes=10))
    async with acts.worker(skipping_env.client, queue, cache=False):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["silence_verdict"] == 1, what="the verdict")
        await deliver(handle, firing(fp, minute=1))
        await eventually(lambda: acts.calls["save_incident_batch"] == 1, what="the repeat counted")
    assert acts.calls["place_card"] == 0
    async with acts.worker(skipping_env.client, queue, cache=False):  # a new worker replays the history
        await skipping_env.sleep(11 * 60)
        await eventually(lambda: acts.calls["place_card"] == 1, what="the held card")
        await skipping_env.sleep(3600)
        await deliver(handle, firing(fp, minute=2))
        await eventually(lambda: acts.calls["save_incident_batch"] == 2, what="a later repeat")
        assert acts.calls["place_card"] == 1 and acts.calls["silence_verdict"] == 2
        assert acts.calls["analyze_alert"] == 1 and acts.calls["recommend_repair"] == 1
        await handle.terminate("done")


async def test_a_maintenance_window_holds_the_card_with_the_real_verdict_until_it_closes(
        skipping_env, queue, redis, tmp_path) -> None:
    """The real ``silence_verdict`` (Valkey, a maintenance file) in simulated time: inside a window the
    alert is card-less with ``Silenced=window:<name>``; the window's end is a durable timer; its card
    goes out when the window closes (a window that crosses midnight is two ranges, walked as one)."""
    opens = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    closes = opens + timedelta(minutes=31)
    if closes.date() == opens.date():
        ranges = [(f"{opens:%H:%M}", f"{closes:%H:%M}")]
    elif closes.hour == closes.minute == 0:  # closes at midnight: its end is 24:00, there is no 00:00-00:00
        ranges = [(f"{opens:%H:%M}", "24:00")]
    else:
        ranges = [(f"{opens:%H:%M}", "24:00"), ("00:00", f"{closes:%H:%M}")]
    times = ", ".join(f'{{start_time: "{a}", end_time: "{b}"}}' for a, b in ranges)
    path = tmp_path / "maintenance.yaml"
    path.write_text("windows:\n  - {name: hpa-work, matchers: ['alertname=\"KubeHpaMaxedOut\"', "
                    f"'deployment=\"checkout\"'], time_intervals: [{{times: [{times}], location: UTC}}]}}\n")
    real = SilenceActivities(RedisSilenceStore(redis), MaintenanceFile(path))
    acts = RealSilences(_settings(), real=[real.verdict, real.create, real.expire])
    fp = uuid.uuid4().hex[:16]
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["save_incident"] == 1, what="the incident saved")

        async def attribute() -> bool:
            return await _silenced_attribute(handle) == "window:hpa-work"

        await eventually(attribute, what="Silenced=window:hpa-work")
        assert acts.calls["place_card"] == 0
        await skipping_env.sleep(32 * 60)
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card once the window closed")
        assert await _silenced_attribute(handle) is None
        await handle.terminate("done")


@dataclass
class RealSilences(StandIns):
    """The stand-ins, with the real silence activities in place of none."""

    real: list[Any] = field(default_factory=list)

    def activities(self) -> list[Any]:
        return [*super().activities(), *self.real]
