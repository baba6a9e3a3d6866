"""Group commit at intake: one Temporal signal per incident per moment, one fsync per spool batch.

A storm is many deliveries for few incidents. Sending each as its own signal-with-start costs
Temporal one history write and one workflow task per delivery, and the server's write rate
(a few hundred per second on the embedded SQLite) becomes the intake's rate. Here every incident
has a lane: what arrives for it within ``window`` seconds, or while its previous signal is in
flight, leaves as one ``deliver_batch`` signal; lanes of different incidents run side by side.
A lane sends one batch at a time, so deliveries of one incident reach Temporal in arrival order.

A batch that Temporal does not take in time, or that finds Temporal saturated (no direct slot
free within ``overflow_wait``), or that finds the spool in use (order: nothing overtakes what is
already spooled), goes to the durable spool instead. Spool writes are grouped too: everything
spooled within ``window`` is one pipeline and one WAITAOF (activities/valkey/spool.py). Every
sender's answer waits for the batch holding its delivery to be recorded, in Temporal or fsynced
in Valkey (docs/adr/0015-group-commit-intake.md).

In a storm a repeat goes to the spool even when Temporal would take it at once: a sender that waits
for each answer never has two deliveries of one incident in a lane, and the spool is where batches
form whatever the sender's pace (starter/storm_gauge.py, docs/adr/0023-storm-cost-per-sender.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import structlog

from core.errors import IntakeUnavailable, PayloadError, UpstreamError
from core.models import AlertDelivery, AlertStatus, IncidentRef, SpooledDelivery
from core.ports import DeliverySpool
from starter.storm_gauge import StormGauge

log = structlog.get_logger(__name__)

# The spool is the fallback of a fallback: when Valkey does not answer within these, the sender is
# told 503 at once (its retry is the last safe place left), instead of waiting out reconnects.
SPOOL_CHECK_SECONDS = 0.25
SPOOL_PUSH_SECONDS = 1.0
# How long "the spool is empty" is believed before Valkey is asked again (one XLEN per process
# per interval, shared by every delivery in it, instead of one per delivery).
SPOOL_STATE_TTL = 0.05

SendBatch = Callable[[IncidentRef, list[AlertDelivery]], Awaitable[bool]]


@dataclass
class _Pending:
    ref: IncidentRef
    delivery: AlertDelivery
    done: asyncio.Future[str]


@dataclass
class _Lane:
    pending: list[_Pending] = field(default_factory=list)


class SpoolState:
    """Whether the spool holds anything, asked of Valkey at most every SPOOL_STATE_TTL seconds."""

    def __init__(self, spool: DeliverySpool | None) -> None:
        self._spool = spool
        self._in_use = False
        self._fresh_until = 0.0
        self._asking: asyncio.Task[bool] | None = None

    def mark_used(self) -> None:
        self._in_use = True
        self._fresh_until = time.monotonic() + SPOOL_STATE_TTL

    async def in_use(self) -> bool:
        if self._spool is None:
            return False
        if time.monotonic() < self._fresh_until:
            return self._in_use
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask())
        asking = self._asking
        try:
            return await asyncio.shield(asking)
        finally:
            if self._asking is asking and asking.done():
                self._asking = None

    async def _ask(self) -> bool:
        assert self._spool is not None
        try:
            depth = await asyncio.wait_for(self._spool.depth(), SPOOL_CHECK_SECONDS)
        except (UpstreamError, TimeoutError):
            return False  # Valkey is down: Temporal directly is the only way left
        self._in_use = depth > 0
        self._fresh_until = time.monotonic() + SPOOL_STATE_TTL
        return self._in_use


class SpoolWriter:
    """Everything spooled within ``window`` seconds goes to Valkey as one batch with one fsync."""

    def __init__(self, spool: DeliverySpool, state: SpoolState, *, window: float) -> None:
        self._spool = spool
        self._state = state
        self._window = window
        self._queue: list[tuple[list[SpooledDelivery], asyncio.Future[None]]] = []
        self._flushing = False

    async def push(self, items: list[SpooledDelivery]) -> None:
        """Returns once every item is fsynced; raises IntakeUnavailable when Valkey cannot take them."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((items, done))
        if not self._flushing:
            self._flushing = True
            asyncio.ensure_future(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(self._window)
            while self._queue:
                batch, self._queue = self._queue, []
                items = [item for part, _ in batch for item in part]
                try:
                    await asyncio.wait_for(self._spool.push_many(items), SPOOL_PUSH_SECONDS)
                except (UpstreamError, TimeoutError) as exc:
                    log.error("neither Temporal nor the spool took the deliveries", count=len(items),
                              detail=str(exc))
                    failure = IntakeUnavailable("Temporal and the Valkey spool are both unavailable")
                    failure.__cause__ = exc
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(failure)
                    continue
                self._state.mark_used()
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._flushing = False


class GroupCommit:
    """Per-incident lanes in front of Temporal; see the module docstring."""

    def __init__(self, send: SendBatch, spool: SpoolWriter | None, state: SpoolState, *, window: float,
                 max_batch: int, max_in_flight: int, overflow_wait: float, gauge: StormGauge | None = None) -> None:
        self._send = send
        self._gauge = gauge
        self._spool = spool
        self._state = state
        self._window = window
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(max_in_flight)
        self._overflow_wait = overflow_wait
        self._lanes: dict[str, _Lane] = {}

    async def submit(self, ref: IncidentRef, delivery: AlertDelivery) -> str:
        """"started" | "updated" | "spooled" once recorded; raises IntakeUnavailable or PayloadError."""
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self._gauge is not None:
            self._gauge.arrived()
        lane = self._lanes.get(ref.workflow_id)
        if lane is None:
            lane = self._lanes[ref.workflow_id] = _Lane()
            asyncio.ensure_future(self._run(ref.workflow_id, lane))
        lane.pending.append(_Pending(ref, delivery, done))
        return await done

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    async def _run(self, workflow_id: str, lane: _Lane) -> None:
        try:
            if not self._storming(workflow_id):
                await asyncio.sleep(self._window)
            # else: a storm's repeat goes to the spool, whose writer has its own window across every
            # incident; a second wait here would only wake the loop once more per delivery, which is
            # most of what a delivery costs when a slow sender wakes the API for each one.
            while lane.pending:
                batch = lane.pending[: self._max_batch]
                del lane.pending[: self._max_batch]
                try:
                    await self._commit(batch)
                    if self._gauge is not None:
                        self._gauge.committed(workflow_id)
                except BaseException as exc:  # noqa: BLE001 - never leave a sender without an answer
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            # No await between the loop's last check and here: nothing can have joined the lane.
            if self._lanes.get(workflow_id) is lane:
                del self._lanes[workflow_id]
            for pending in lane.pending:  # only on cancellation
                if not pending.done.done():
                    pending.done.set_exception(IntakeUnavailable("intake shutting down"))

    def _storming(self, workflow_id: str) -> bool:
        return self._spool is not None and self._gauge is not None and self._gauge.storming(workflow_id)

    async def _commit(self, batch: list[_Pending]) -> None:
        ref = batch[0].ref
        storm = self._storming(ref.workflow_id)
        if await self._state.in_use():
            await self._to_spool(batch, why="the spool holds earlier deliveries", storm=storm)
            return
        if storm:
            await self._to_spool(batch, why="a storm: repeats are batched through the spool", storm=True)
            return
        if not await self._slot():
            await self._to_spool(batch, why="temporal saturated")
            return
        started = False
        refused: PayloadError | None = None
        unavailable: IntakeUnavailable | None = None
        try:
            started = await self._send(ref, [pending.delivery for pending in batch])
        except PayloadError as exc:
            refused = exc
        except IntakeUnavailable as exc:
            unavailable = exc
        finally:
            self._slots.release()
        if refused is not None:
            if len(batch) > 1:
                # One delivery Temporal refuses must not take the others with it: find it.
                for pending in batch:
                    await self._commit([pending])
                return
            batch[0].done.set_exception(refused)
            return
        if unavailable is not None:
            if self._spool is None:
                for pending in batch:
                    pending.done.set_exception(unavailable)
                return
            log.warning("temporal did not take the batch in time; spooling it", workflow_id=ref.workflow_id,
                        count=len(batch), reason=str(unavailable))
            await self._to_spool(batch, why="temporal slow")
            return
        for index, pending in enumerate(batch):
            pending.done.set_result("started" if started and index == 0 else "updated")

    async def _slot(self) -> bool:
        """A direct slot to Temporal; False when none frees up within ``overflow_wait`` and the spool
        can take the batch instead (without a spool there is nowhere else: wait, as before)."""
        if self._spool is None:
            await self._slots.acquire()
            return True
        try:
            await asyncio.wait_for(self._slots.acquire(), self._overflow_wait)
        except TimeoutError:
            return False
        return True

    async def _to_spool(self, batch: list[_Pending], *, why: str, storm: bool = False) -> None:
        """``storm``: the batch's firing repeats may be held by the drainer to leave with their
        incident's next ones (a resolution never is, nor what is spooled for any other reason)."""
        if self._spool is None:
            raise IntakeUnavailable("temporal unavailable and no spool configured")
        now = datetime.now(timezone.utc)
        items = [SpooledDelivery(ref=p.ref, delivery=p.delivery, spooled_at=now,
                                 held=storm and p.delivery.alert.status is AlertStatus.FIRING) for p in batch]
        log.debug("spooling", workflow_id=batch[0].ref.workflow_id, count=len(batch), why=why)
        await self._spool.push(items)
        for pending in batch:
            pending.done.set_result("spooled")
