"""Creating, updating and expiring silences with Alertmanager's rules. Pure: the store reads and
writes, these decide.

Alertmanager's API v2 (0.25) rules, kept so ``amtool silence update`` and a re-POST behave as there:

- a POST is refused when its start is not before its end, or its end is in the past;
- a POST with the id of an existing silence updates it in place only when nothing but the comment,
  the author and the end changed in a way the silence's state allows (same matchers; an active one
  keeps its start and may not end in the past; a pending one may not start in the past; an expired
  one never). Otherwise the old one is expired and a new silence with a new id replaces it;
- a new silence starting in the past starts now;
- expiring: an active silence ends now; a pending one starts and ends now; an expired one stays as
  it is (Alertmanager answers an error there; here expiring twice is the same as once, so a retried
  DELETE is safe).
"""

from __future__ import annotations

from datetime import datetime

from core.silences import Silence, SilenceInvalid, SilenceState, to_ms

__all__ = ["Edit", "expire", "post"]


class Edit:
    """What a POST decided: the id to answer with, and the silences to write (the new or updated one,
    and the one it replaces, expired)."""

    def __init__(self, silence_id: str, writes: list[Silence]) -> None:
        self.silence_id = silence_id
        self.writes = writes


def post(incoming: Silence, existing: Silence | None, now: datetime, new_id: str) -> Edit:
    """``existing``: the stored silence with ``incoming.id`` (the caller answers 404 when an id was
    given and none is stored)."""
    now = to_ms(now)
    if incoming.starts_at >= incoming.ends_at:
        raise SilenceInvalid("Failed to create silence: start time must be before end time")
    if incoming.ends_at < now:
        raise SilenceInvalid("Failed to create silence: end time can't be in the past")
    incoming.check()
    if existing is not None and _can_update(existing, incoming, now):
        updated = incoming.model_copy(update={"id": existing.id, "updated_at": now})
        return Edit(existing.id, [updated])
    fresh = incoming.model_copy(update={"id": new_id, "updated_at": now,
                                        "starts_at": max(incoming.starts_at, now)})
    writes = [fresh]
    if existing is not None and existing.state(now) is not SilenceState.EXPIRED:
        writes.append(expire(existing, now))
    return Edit(new_id, writes)


def expire(silence: Silence, now: datetime) -> Silence:
    now = to_ms(now)
    state = silence.state(now)
    if state is SilenceState.EXPIRED:
        return silence
    if state is SilenceState.PENDING:
        return silence.model_copy(update={"starts_at": now, "ends_at": now, "updated_at": now})
    return silence.model_copy(update={"ends_at": now, "updated_at": now})


def _can_update(old: Silence, new: Silence, now: datetime) -> bool:
    if old.matchers != new.matchers:
        return False
    state = old.state(now)
    if state is SilenceState.ACTIVE:
        return new.starts_at == old.starts_at and new.ends_at >= now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False
