"""What the incident core asks the workflow to do, and what it hears back.

A step of the core (core/incident/core.py) is a generator: it yields one command at a time and the
workflow sends back that command's result (workflows/incident_steps.py runs the activity, sets the
search attribute, writes the log line). The core never imports Temporal, never reads a clock and
never awaits: it decides, the workflow acts. Each command that calls an activity carries that
activity's one input model.

Results: an activity's return value, or :class:`Failed` when its retries ran out (``paced`` when
Telegram's pacing skipped a best-effort card edit). Commands without an activity answer None.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import BaseModel

from core import priority

from core.inputs import (
    AnalyzeInput,
    BudgetInput,
    DeliverySeenInput,
    EditCardInput,
    EscalateInput,
    ExecuteRepairInput,
    LearningRecordInput,
    ObserveInput,
    PlaceCardInput,
    RecommendInput,
    RecordRepairInput,
    RenotifyInput,
    SaveBatchInput,
    SaveIncidentInput,
    SentryCommentInput,
)


class Command:
    """Base of every command; plain classes, cheap to build in a storm."""

    __slots__ = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class Call(Command):
    """An activity call. ``quick``: a Valkey or CPU step of milliseconds that may run as a local
    activity; ``best_effort``: a count-only card change that may be skipped and tried later.

    ``urgency`` says where the call waits when queues are backlogged (core/priority.py): "first"
    at the incident's own priority (what stands between an alert and its first card), "state" behind
    every incident's first words (state edits, repairs, comments), "deferred" last (re-asks and a
    repair's learning record; a best-effort call is always deferred). Whatever an incident's first step
    calls before its card (analysis, save, learning record, recommendation, budget) stays "first"."""

    __slots__ = ("inp", "summary", "best_effort")
    quick = False
    urgency = "first"

    def __init__(self, inp: BaseModel, summary: str = "", *, best_effort: bool = False) -> None:
        self.inp = inp
        self.summary = summary
        self.best_effort = best_effort


class Analyze(Call):
    """-> Analysis. Quick when only the rules answer (no LLM)."""

    inp: AnalyzeInput
    quick = True


class CheckSeen(Call):
    """-> bool: was this resolution already handled by an earlier run?"""

    inp: DeliverySeenInput
    quick = True


class Save(Call):
    """-> Frequency: create or update the incident record, count the occurrence."""

    inp: SaveIncidentInput
    quick = True


class SaveBatch(Call):
    """-> Frequency: a fold of repeats in one save."""

    inp: SaveBatchInput
    quick = True


class Record(Call):
    """-> bool: the occurrence and its analysis for learning."""

    inp: LearningRecordInput
    quick = True


class Recommend(Call):
    """-> RepairPlanAnswer: learning's recommendation, the approval token registered."""

    inp: RecommendInput
    quick = True


class Budget(Call):
    """-> BudgetStatus of the anomaly key's automatic repairs."""

    inp: BudgetInput


class PlaceCard(Call):
    """-> CardPlacement: its own card, or in a storm its line in the chat's digest."""

    inp: PlaceCardInput


class EditCard(Call):
    """-> str | None: the card edited in place (or a replacement's reference, once, if deleted)."""

    inp: EditCardInput
    urgency = "state"


class Escalate(Call):
    """-> str | None: one message asking people to step in, replying to the card."""

    inp: EscalateInput
    urgency = "deferred"


class Comment(Call):
    """-> str: the analysis as a comment on the Sentry issue."""

    inp: SentryCommentInput
    urgency = "state"


class Execute(Call):
    """-> RepairResult: run (or simulate) the repair, once."""

    inp: ExecuteRepairInput
    urgency = "state"


class LearnRepair(Call):
    """-> RecordOutcome: what the repair did, for learning."""

    inp: RecordRepairInput
    urgency = "deferred"


class Renotify(Call):
    """-> str | None: a re-notification replying to the card, or the escalation (docs/adr/0025)."""

    inp: RenotifyInput
    urgency = "state"


class Observe(Call):
    """-> bool: an MTTA/MTTR/repair-outcome observation, made once per key (False: already made)."""

    inp: ObserveInput
    quick = True
    urgency = "deferred"


class SetAcked(Command):
    """The Acked search attribute ("true" / "false")."""

    __slots__ = ("acked",)

    def __init__(self, acked: bool) -> None:
        self.acked = acked


class SetStatus(Command):
    """The IncidentStatus search attribute (open / resolved / expired / duplicate)."""

    __slots__ = ("status",)

    def __init__(self, status: str) -> None:
        self.status = status


class Publish(Command):
    """What the Web UI shows now: the current details, and the RepairPhase search attribute."""

    __slots__ = ("details", "phase")

    def __init__(self, details: str, phase: str) -> None:
        self.details = details
        self.phase = phase


class Log(Command):
    __slots__ = ("level", "message", "fields")

    def __init__(self, level: str, message: str, **fields: Any) -> None:
        self.level = level
        self.message = message
        self.fields = fields


class Failed:
    """An activity's retries ran out (or it failed for good): what went wrong, in a word and a line."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason

    @property
    def paced(self) -> bool:
        return self.kind == "Paced"

    def __repr__(self) -> str:
        return f"Failed({self.kind!r}, {self.reason!r})"


def queue_priority(command: Call, own: int) -> int:
    """The priority key a call waits with in Temporal's queues and the chat gate: the incident's own
    (``own``: probe 1, critical 2, else 3) for its first words, then state changes, then the rest."""
    if command.best_effort or command.urgency == "deferred":
        return priority.DEFERRED
    if command.urgency == "state":
        return max(own, priority.STATE_CHANGE)
    return own


# A step: yields commands, is sent each command's result, returns when the step is done.
Step = Generator[Command, Any, None]


def info(message: str, **fields: Any) -> Log:
    return Log("info", message, **fields)


def warning(message: str, **fields: Any) -> Log:
    return Log("warning", message, **fields)


def error(message: str, **fields: Any) -> Log:
    return Log("error", message, **fields)
