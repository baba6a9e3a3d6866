"""The bare reference workflows: what the same Temporal server does with no awoooi code at all.

``BareWorkflow`` runs six no-op regular activities in sequence, the shape of an incident's first
delivery (analyze, save, card, comment, record, ...) without their work. ``SinkWorkflow`` takes
``deliver`` signals and does nothing, so signal-with-start to it measures the server's own rate.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

STEPS = 6


@activity.defn
async def noop(step: int) -> int:
    return step


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))
        return steps


@workflow.defn
class SinkWorkflow:
    def __init__(self) -> None:
        self.count = 0

    @workflow.signal
    def deliver(self, payload: dict[str, object]) -> None:
        self.count += 1

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: False)
        return self.count
