"""Where the running activity waits for the chat: the priority its workflow gave it.

The incident workflow says every activity's priority in full (workflows/incident_steps.py,
core/priority.py); the chat gate and Telegram's pacer read it here, so a card call waits for the
chat in the same order as it waited in Temporal's task queue.
"""

from __future__ import annotations

from temporalio import activity

from core.priority import FIRST_WORDS, QueuePlace

# Outside an activity (a test calling a method directly), or with no priority given.
ANYONE = QueuePlace(FIRST_WORDS, "")


def activity_place() -> QueuePlace:
    try:
        given = activity.info().priority
    except RuntimeError:
        return ANYONE
    return QueuePlace(given.priority_key or FIRST_WORDS, given.fairness_key or "")
