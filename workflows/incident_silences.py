"""The ``silence`` update's validator and answer (a card's Silence buttons), kept out of the loop.

The validator refuses, with nothing recorded, what the core would not do: an incident of a run whose
settings have silences off (a run started before they were on), a closed or probe incident, a
duration that is not positive. The answer is what the tapper sees at once; the silence itself is
created by the loop's next step (docs/adr/0020 rule 5: handlers only enqueue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.models import IncidentStatus
    from core.silence_inputs import SilenceAnswer, SilenceRequest

if TYPE_CHECKING:
    from core.incident.core import IncidentCore


def check_silence_request(core: IncidentCore | None, request: SilenceRequest) -> None:
    state = core.state if core is not None else None
    if core is None or state is None:
        raise ValueError("this incident has no card yet: its first delivery is still being handled")
    if not core.settings.silences:
        raise ValueError("silences from the card are off for this incident's run")
    if state.probe:
        raise ValueError("an alert-chain probe is never silenced")
    if state.status is not IncidentStatus.OPEN:
        raise ValueError(f"this incident is {state.status.value}: nothing to silence")
    if request.duration is not None and request.duration.total_seconds() <= 0:
        raise ValueError("a silence needs a duration longer than zero")
    if request.duration is None and state.mute_silence_id is not None:
        raise ValueError("this incident is already muted until it resolves")
    if not request.by.strip():
        raise ValueError("who silences it is required")


def silence_answer(request: SilenceRequest) -> SilenceAnswer:
    if request.duration is None:
        return SilenceAnswer(accepted=True, message=f"Muted by {request.by} until it resolves")
    return SilenceAnswer(accepted=True, message=f"Silenced by {request.by} for {_span(request.duration.total_seconds())}")


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
