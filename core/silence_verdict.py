"""Is this alert silenced now, by what, and until when? Pure: silences and windows in, a verdict out.

The workflow asks through the ``silence_verdict`` activity (activities/incident/silences.py) with its own
``workflow.now()``, so the answer is recorded in history and a replay decides the same. ``until`` is the
first instant no silence and no maintenance window covers the alert any more, if nothing changes
meanwhile: the workflow sleeps to it on a durable timer and asks again (a silence edited or expired
through the API wakes it earlier, see ``SilenceVerdictInput.workflow_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from core.maintenance import MaintenanceWindow
from core.silence_inputs import SilenceVerdict, SilenceVerdictInput
from core.silences import Silence, SilenceState

__all__ = ["SilenceVerdict", "SilenceVerdictInput", "verdict"]

# Overlapping silences and windows chained end to end: past this many hand-overs, "until" is unknown.
_MAX_HANDOVERS = 200


def verdict(silences: Iterable[Silence], windows: Iterable[MaintenanceWindow], labels: Mapping[str, str],
            now: datetime) -> SilenceVerdict:
    matching = [s for s in silences if s.matches(labels) and s.state(now) is not SilenceState.EXPIRED]
    fitting = [w for w in windows if w.matches(labels)]
    active = sorted(s.id for s in matching if s.state(now) is SilenceState.ACTIVE)
    inside = [w.name for w in fitting if w.contains(now)]
    if not active and not inside:
        return SilenceVerdict(silenced=False)
    return SilenceVerdict(silenced=True, until=_until(matching, fitting, now), silence_ids=active, windows=inside)


def _until(silences: list[Silence], windows: list[MaintenanceWindow], now: datetime) -> datetime | None:
    """Walk hand-overs: from ``at``, every covering source covers up to its own end, so the union
    covers up to the latest of them; from there, look again (a pending silence may have started, a
    window may hold again)."""
    at = now
    for _ in range(_MAX_HANDOVERS):
        ends: list[datetime | None] = [s.ends_at for s in silences if s.state(at) is SilenceState.ACTIVE]
        ends += [w.leaves_at(at) for w in windows if w.contains(at)]
        if not ends:
            return at
        if any(end is None for end in ends):
            return None
        at = max(end for end in ends if end is not None)
    return None
