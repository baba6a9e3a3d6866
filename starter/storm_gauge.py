"""Tell a storm at intake, so its repeats take the batched path whatever the sender's pace (issue 19).

What a storm costs Temporal and the worker is one signal and one workflow task per incident per
batch (docs/adr/0015), so its cost per delivery is set by how many deliveries a batch holds. A lane
batches only what arrives for its incident while the previous signal is in flight, and a sender
that waits for each answer (64 connections over 100 incidents) never has two deliveries of one
incident in flight: every delivery was a signal and a workflow task of its own, ~24 CPU-ms against
~2.4 when a flood pushed the same storm through the spool, whose drainer sends each incident's
accumulated entries as one signal (bench/senders.py). The spool is the group commit across
incidents: one pipeline and one fsync for everything within the window.

So a repeat takes the spool when this process is in a storm: a delivery of its incident was
recorded within ``hot_seconds`` and deliveries arrive faster than ``rate`` per second (a decaying
average over about a second). The drainer may then hold it a few seconds, so that its incident's
next repeats leave with it (starter/spool_drainer.py). A first delivery still goes straight to
Temporal (its card is what a person waits for), and a quiet incident's repeat too (its answer says
"updated", as before).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

# How quickly the rate forgets: a burst counts for about this long.
RATE_SECONDS = 1.0


class StormGauge:
    """Deliveries per second into this process, and which incidents had a delivery recorded lately."""

    def __init__(self, *, rate: float, hot_seconds: float, clock: Callable[[], float] = time.monotonic,
                 max_incidents: int = 100_000) -> None:
        self._threshold = rate
        self._hot_seconds = hot_seconds
        self._clock = clock
        self._max = max_incidents
        self._rate = 0.0
        self._at = clock()
        self._recorded: OrderedDict[str, float] = OrderedDict()

    def arrived(self, n: int = 1) -> None:
        now = self._clock()
        self._rate = self._rate * math.exp(-(now - self._at) / RATE_SECONDS) + n / RATE_SECONDS
        self._at = now

    def rate(self) -> float:
        return self._rate * math.exp(-(self._clock() - self._at) / RATE_SECONDS)

    def committed(self, workflow_id: str) -> None:
        """A batch of this incident was recorded now (in Temporal or the spool)."""
        now = self._clock()
        self._recorded[workflow_id] = now
        self._recorded.move_to_end(workflow_id)
        while self._recorded:
            oldest, at = next(iter(self._recorded.items()))
            if at >= now - self._hot_seconds and len(self._recorded) <= self._max:
                break
            del self._recorded[oldest]

    def storming(self, workflow_id: str) -> bool:
        """A repeat of an incident recorded within ``hot_seconds``, in a storm: batch it via the spool."""
        if self._threshold <= 0:
            return False
        at = self._recorded.get(workflow_id)
        return at is not None and at >= self._clock() - self._hot_seconds and self.rate() >= self._threshold
