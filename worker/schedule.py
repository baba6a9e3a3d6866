"""The AlertChainProbe's Temporal Schedule: created or updated idempotently, paused, triggered.

Called when the worker starts (worker/service.py) and by `awoooi schedule`. A Schedule rather than
a cron loop in the worker so it is visible, pausable and triggerable in the Web UI, and survives
worker restarts. Overlap SKIP: a run still going (a link at its deadline) is never doubled; the
catch-up window is one interval, so a server that was down runs one probe, not a backlog.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.common import Priority
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core import priority
from core.probe import ProbeInput
from core.settings import Settings

log = structlog.get_logger(__name__)

SCHEDULE_ID = "awoooi-alert-chain-probe"
WORKFLOW_TYPE = "AlertChainProbe"


def probe_schedule(settings: Settings, *, paused: bool = False) -> Schedule:
    interval = timedelta(seconds=settings.probe_interval)
    # Each link has the deadline; the run as a whole gets it twice plus slack, well under one interval.
    run_timeout = timedelta(seconds=max(2 * settings.probe_deadline + 60, 60))
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_TYPE, ProbeInput(deadline_seconds=settings.probe_deadline),
            id=f"{SCHEDULE_ID}-run", task_queue=settings.task_queue, execution_timeout=run_timeout,
            # Its checks go ahead of any backlog: a busy worker must not read as a broken chain.
            priority=Priority(priority_key=priority.PROBE, fairness_key="awoooi-probe"),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=interval),
        state=ScheduleState(paused=paused, note="awoooi alert-chain probe"),
    )


async def ensure_probe_schedule(client: Client, settings: Settings) -> str:
    """Create the schedule, or bring an existing one's action, spec and policy up to date (its
    paused state is the operator's and is kept). Returns "created" or "updated"."""
    wanted = probe_schedule(settings)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("probe schedule created", schedule_id=SCHEDULE_ID, every=settings.probe_interval)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(SCHEDULE_ID).update(update)
    log.info("probe schedule updated", schedule_id=SCHEDULE_ID, every=settings.probe_interval)
    return "updated"


async def control_schedule(client: Client, settings: Settings, action: str | None) -> str:
    """`awoooi schedule [--pause|--unpause|--trigger]`: ensure it, then do what was asked."""
    result = await ensure_probe_schedule(client, settings)
    handle = client.get_schedule_handle(SCHEDULE_ID)
    if action == "pause":
        await handle.pause(note="paused with awoooi schedule --pause")
        return f"{SCHEDULE_ID}: {result}, paused"
    if action == "unpause":
        await handle.unpause(note="unpaused with awoooi schedule --unpause")
        return f"{SCHEDULE_ID}: {result}, running every {settings.probe_interval} s"
    if action == "trigger":
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
        return f"{SCHEDULE_ID}: {result}, one run triggered"
    return f"{SCHEDULE_ID}: {result}, every {settings.probe_interval} s"
