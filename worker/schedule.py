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


async def ensure_probe_schedule(client: Client, settings: Settings, *, paused: bool | None = None) -> str:
    """Create the schedule, or bring an existing one's action, spec and policy up to date. Its paused
    state is the operator's and is kept, unless ``paused`` says otherwise: a pause or unpause goes in
    the same update, not in a patch after it, because the schedule's workflow applies a pending patch
    before a pending update, and the update (carrying the state it read) would undo the pause.
    Returns "created" or "updated"."""
    wanted = probe_schedule(settings, paused=bool(paused))
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("probe schedule created", schedule_id=SCHEDULE_ID, every=settings.probe_interval)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        if paused is not None and state.paused != paused:
            state.paused = paused
            state.note = f"{'paused' if paused else 'unpaused'} with awoooi schedule --{'' if paused else 'un'}pause"
        wanted.state = state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(SCHEDULE_ID).update(update)
    log.info("probe schedule updated", schedule_id=SCHEDULE_ID, every=settings.probe_interval)
    return "updated"


async def control_schedule(client: Client, settings: Settings, action: str | None) -> str:
    """`awoooi schedule [--pause|--unpause|--trigger]`: ensure it, then do what was asked."""
    paused = {"pause": True, "unpause": False}.get(action or "")
    result = await ensure_probe_schedule(client, settings, paused=paused)
    handle = client.get_schedule_handle(SCHEDULE_ID)
    if action == "pause":
        return f"{SCHEDULE_ID}: {result}, paused"
    if action == "unpause":
        return f"{SCHEDULE_ID}: {result}, running every {settings.probe_interval} s"
    if action == "trigger":
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
        return f"{SCHEDULE_ID}: {result}, one run triggered"
    return f"{SCHEDULE_ID}: {result}, every {settings.probe_interval} s"
