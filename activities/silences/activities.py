"""The incident workflow's questions about silences, as activities (docs/adr/0024-where-silences-live.md).

- ``silence_verdict``: is this alert silenced at the workflow's now, by which silences and windows,
  and until when (core/silence_verdict.py). It also records the workflow with each silence that
  silences it, so the API can wake the workflow when that silence is expired or edited early.
- ``silence_create``: the card's "Silence 1h" / "Silence 4h" / "Mute until resolved", a silence on the
  incident's own labels. The id comes from the workflow (``workflow.uuid4()``), so a retry finds the
  silence already written and writes nothing.
- ``silence_expire``: ends a silence now ("Mute until resolved" once the incident resolves); expiring
  twice is expiring once.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.failures import to_application_error
from core.errors import UpstreamError
from core.maintenance import MaintenanceWindow
from core.ports import SilenceRepository
from core.silence_edits import expire
from core.silence_inputs import (
    MUTE_UNTIL_RESOLVED,
    SilenceCreateInput,
    SilenceExpireInput,
    SilenceVerdict,
    SilenceVerdictInput,
)
from core.silence_verdict import verdict
from core.silences import Matcher, Silence, SilenceInvalid, labels_matchers

__all__ = ["SilenceActivities", "WindowSource"]

class WindowSource(Protocol):
    def windows(self) -> tuple[MaintenanceWindow, ...]: ...


class SilenceActivities:
    def __init__(self, store: SilenceRepository, windows: WindowSource) -> None:
        self._store = store
        self._windows = windows

    @activity.defn(name="silence_verdict")
    async def verdict(self, inp: SilenceVerdictInput) -> SilenceVerdict:
        try:
            live = await self._store.live(inp.at)
            answer = verdict(live, self._windows.windows(), inp.labels, inp.at)
            if answer.silence_ids and inp.workflow_id:
                ends = max(s.ends_at for s in live if s.id in answer.silence_ids)
                await self._store.watch(answer.silence_ids, inp.workflow_id, ends)
                answer.created_by = sorted({s.created_by for s in live if s.id in answer.silence_ids})
            if inp.button and inp.workflow_id:
                await self._store.remember_button(inp.button, inp.workflow_id)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return answer

    @activity.defn(name="silence_create")
    async def create(self, inp: SilenceCreateInput) -> str:
        matchers: list[Matcher] = labels_matchers(inp.labels)
        ends = inp.at + (inp.duration if inp.duration is not None else MUTE_UNTIL_RESOLVED)
        comment = inp.comment or ("muted until resolved" if inp.duration is None else "silenced from the card")
        silence = Silence(id=inp.silence_id, matchers=matchers, startsAt=inp.at, endsAt=ends,
                          createdBy=inp.created_by, comment=comment, updatedAt=inp.at)
        try:
            silence.check()
        except SilenceInvalid as exc:  # labels that cannot make a silence: a retry cannot help
            raise ApplicationError(str(exc), type="SilenceInvalid", non_retryable=True) from exc
        try:
            await self._store.edit(inp.silence_id, lambda current: [] if current is not None else [silence], inp.at)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return inp.silence_id

    @activity.defn(name="silence_expire")
    async def expire(self, inp: SilenceExpireInput) -> bool:
        """True when the silence exists (now expired), False when there is no such silence."""
        found: list[bool] = []

        def decide(current: Silence | None) -> list[Silence]:
            found[:] = [current is not None]
            if current is None:
                return []
            ended = expire(current, inp.at)
            return [] if ended is current else [ended]

        try:
            await self._store.edit(inp.silence_id, decide, inp.at)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return bool(found and found[0])
