"""The silence activities' inputs and the verdict they answer with (activities/silences/activities.py).

Temporal records these in history: add fields with defaults, never rename or remove one.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, Field

__all__ = ["MUTE_UNTIL_RESOLVED", "SilenceAnswer", "SilenceCreateInput", "SilenceExpireInput", "SilenceRequest",
           "SilenceVerdict", "SilenceVerdictInput"]

# "Mute until resolved" is a silence whose end is the incident's resolution; until then it needs an
# end all the same (Alertmanager has no open-ended silence): this far, expired by the workflow earlier.
MUTE_UNTIL_RESOLVED = timedelta(days=30)


class SilenceVerdictInput(BaseModel):
    """The one input of ``silence_verdict``."""

    labels: dict[str, str]
    # The workflow's now (workflow.now()): the verdict is about this instant, not the worker's clock.
    at: AwareDatetime
    # When set, each silence that silences the alert remembers this workflow, so expiring or editing
    # that silence through the API can tell the workflow at once (RedisSilenceStore.watchers).
    workflow_id: str = ""
    # The card's Silence buttons name the incident by this token (their callback data has 64 bytes,
    # an incident id may not fit): the verdict asked before the first card registers it.
    button: str = ""


class SilenceVerdict(BaseModel):
    silenced: bool
    # When the alert stops being silenced if nothing changes; None when not silenced, or when it
    # stays silenced beyond the horizon (a window over whole years): ask again later then.
    until: AwareDatetime | None = None
    silence_ids: list[str] = Field(default_factory=list)
    windows: list[str] = Field(default_factory=list)
    # Who created the silences that silence it (the card says "silenced by ...").
    created_by: list[str] = Field(default_factory=list)

    def attribute(self) -> str:
        """What the Web UI's ``Silenced`` attribute can show: ``silence:<id>,window:<name>``."""
        return ",".join([*(f"silence:{i}" for i in self.silence_ids), *(f"window:{n}" for n in self.windows)])


class SilenceCreateInput(BaseModel):
    silence_id: str  # from workflow.uuid4(): the same on every retry
    labels: dict[str, str]  # the incident's own labels: one equality matcher each
    at: AwareDatetime  # the workflow's now: the silence starts here
    # None: "Mute until resolved" (ends at + 30 days unless the workflow expires it at resolution).
    duration: timedelta | None = None
    created_by: str
    comment: str = Field(default="")


class SilenceExpireInput(BaseModel):
    silence_id: str
    at: AwareDatetime


class SilenceRequest(BaseModel):
    """The ``silence`` update's input: a card's Silence button (or the API) asks the incident to
    silence itself on its own labels. ``duration`` None: "Mute until resolved"."""

    duration: timedelta | None = None
    by: str
    by_id: str = ""
    via: str = "telegram"


class SilenceAnswer(BaseModel):
    accepted: bool
    message: str
