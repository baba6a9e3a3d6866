"""Flapping on the time-skipping server with stand-in activities (tests/standins.py): the mark on the
card, the edits held while flapping, and the quiet window that clears it and lets the run end
(core/incident/flapping.py, docs/adr/0031)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import activity

from core import search_attributes as sa
from core.incident.state import IncidentSettings, IncidentState
from core.inputs import EditCardInput
from core.identity import incident_ref
from core.models import IncidentStatus, RepairAction
from core.timeline import model as k
from core.timeline.episodes import episodes
from starter.timeline_reader import read_timeline
from tests.harness import eventually
from tests.standins import StandIns, deliver, firing, resolved, start


@pytest.fixture
def queue() -> str:
    return f"flapping-{uuid.uuid4()}"


def _settings() -> IncidentSettings:
    return IncidentSettings(flap_count=2, flap_window_seconds=3600.0, new_lifecycle_after_grace=True,
                            resolve_grace_seconds=300, card_edit_interval_seconds=0, card_budget_calls=0,
                            idle_timeout_seconds=86400)


async def test_marked_held_and_cleared_after_a_quiet_window(skipping_env, queue) -> None:
    fp = uuid.uuid4().hex[:16]
    acts = StandIns(_settings(), action=RepairAction.MANUAL_INTERVENTION)
    client = skipping_env.client
    async with acts.worker(client, queue):
        handle = await start(client, queue, firing(fp, 0))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")

        async def state() -> IncidentState:
            return await handle.query("state", result_type=IncidentState)

        for n in range(1, 4):  # three flaps: more than flap_count (2)
            edits = len(acts.edits)
            await deliver(handle, resolved(fp, n - 1))
            await eventually(lambda: len(acts.edits) == edits + 1, what=f"resolution {n} on the card")
            await deliver(handle, firing(fp, n))
            await eventually(lambda: len(acts.edits) == edits + 2, what=f"re-open {n} on the card")
        marked = acts.edits[-1].view
        assert marked.flapping == 3 and marked.status is IncidentStatus.OPEN
        assert [e.view.flapping for e in acts.edits] == [0] * 5 + [3]
        # Flapping: a resolve and a re-fire change the state, not the card.
        await deliver(handle, resolved(fp, 3))
        await deliver(handle, firing(fp, 4))
        await deliver(handle, resolved(fp, 4))

        async def handled() -> bool:
            current = await state()
            return len(current.refires) == 4 and current.status is IncidentStatus.RESOLVED

        await eventually(handled, what="the flaps handled")
        current = await state()
        assert current.flapping == 4 and current.card_dirty and len(acts.edits) == 6
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.FLAPPING) == "true"
        # Resolved, but the run stays past its grace; a quiet hour clears the mark with one edit.
        await skipping_env.sleep(3600 + 60)
        outcome = await handle.result()
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.FLAPPING) is None, "the mark cleared"
    assert outcome["status"] == "resolved"
    # One held edit a window after the marking one (the resolution, the count then), and the
    # all-clear once the last re-fire is a window old: nothing in between, one card throughout.
    assert len(acts.edits) == 8 and acts.calls["place_card"] == 1
    held = acts.edits[6].view
    assert held.flapping == 4 and held.status is IncidentStatus.RESOLVED and not held.stable_again
    last = acts.edits[-1].view
    assert last.stable_again and not last.flapping and last.status is IncidentStatus.RESOLVED


class _SlowResolvedEdit(StandIns):
    """The resolution's card edit is held (a paced edit waiting for the chat) until released."""

    def __init__(self, settings: IncidentSettings) -> None:
        super().__init__(settings, action=RepairAction.MANUAL_INTERVENTION)
        self.release = asyncio.Event()
        self.editing_resolved = asyncio.Event()

    def activities(self) -> list[Any]:
        kept = [fn for fn in super().activities() if _name(fn) != "edit_card"]
        me = self

        @activity.defn(name="edit_card")
        async def edit(inp: EditCardInput) -> str | None:
            me.calls["edit_card"] += 1
            if inp.view.status is IncidentStatus.RESOLVED:
                me.editing_resolved.set()
                await me.release.wait()
            me.edits.append(inp)
            return None

        return [*kept, edit]


def _name(fn: Any) -> str:
    return getattr(fn, "__temporal_activity_definition").name


@pytest.mark.parametrize("gate", [True, False], ids=["new-lifecycle", "gate-off-reopens"])
async def test_a_refire_after_the_grace_while_the_run_finishes_a_card_edit(skipping_env, queue, gate) -> None:
    """Issue 20: the grace decides, not the run's lifetime. Grace 0: the run is over once the resolution
    is handled, but its card edit is still in flight when the alert fires again."""
    fp = uuid.uuid4().hex[:16]
    acts = _SlowResolvedEdit(IncidentSettings(resolve_grace_seconds=0, new_lifecycle_after_grace=gate,
                                              card_edit_interval_seconds=0, idle_timeout_seconds=86400))
    client = skipping_env.client
    async with acts.worker(client, queue):
        handle = await start(client, queue, firing(fp, 0))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        first = (await handle.query("state", result_type=IncidentState)).lifecycle_id
        await deliver(handle, resolved(fp, 0))
        await asyncio.wait_for(acts.editing_resolved.wait(), 20)
        await deliver(handle, firing(fp, 7))
        await asyncio.sleep(0.3)  # the signal is in the run's inbox before the edit returns
        acts.release.set()

        async def reopened() -> bool:
            current = await handle.query("state", result_type=IncidentState)
            return current.status is IncidentStatus.OPEN

        await eventually(reopened, what="the re-fire handled")
        state = await handle.query("state", result_type=IncidentState)
        described = await handle.describe()
        await handle.terminate("done")
        timeline = await read_timeline(client, incident_ref(firing(fp, 0).alert).incident_id)
    kinds = [entry.kind for entry in timeline.entries if entry.kind in (k.FIRED, k.REOPENED, k.RESOLVED)]
    assert described.typed_search_attributes.get(sa.INCIDENT_STATUS) == "open"
    if gate:
        assert state.lifecycle_id != first and state.occurrences == 1
        assert acts.calls["place_card"] == 2 and acts.calls["analyze_alert"] == 2, "a new incident, its own card"
        # The timeline reads the new lifecycle as one, not as a re-open: MTTR counts each apart.
        assert kinds == [k.FIRED, k.RESOLVED, k.FIRED], kinds
        assert len(episodes(timeline)) == 2
    else:  # what runs recorded before the gate replay: the old card re-opened
        assert state.lifecycle_id == first and state.occurrences == 2
        assert acts.calls["place_card"] == 1 and acts.edits[-1].view.status is IncidentStatus.OPEN
        assert kinds == [k.FIRED, k.RESOLVED, k.REOPENED], kinds
        assert len(episodes(timeline)) == 1
