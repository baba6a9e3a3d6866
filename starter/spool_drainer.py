"""Start the spooled deliveries once Temporal answers again: each incident's in arrival order, and
incidents in the drain order (starter/drain_order.py: the probe and critical alerts first, sender
groups in turn).

Runs in every API replica; the lease in Valkey lets one drain at a time, so an incident's deliveries
reach Temporal in the order they arrived (a resolution never overtakes its firing). A replica that
dies holding the lease is replaced when the lease runs out.

Each entry is removed only after Temporal recorded it. A drainer that died between the two re-sends
the entry: the workflow drops a delivery id it has seen, and an entry whose delivery the worker
already recorded (the ledger's delivery key) is removed without sending. An entry Temporal refuses
for good (INVALID_ARGUMENT) would block everything behind it: it is logged whole (an error line
with the delivery's JSON, so nothing vanishes silently), removed, and counted in
awoooi_spool_refused_total.

A storm's repeats (``held`` entries) wait until ``ripe`` of one incident can leave as one signal, the
storm's repeats stop for ``quiet_seconds``, or ``hold_seconds`` pass (starter/drain_order.py,
docs/adr/0032-storm-batches-by-count.md).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import structlog

from core.errors import IntakeUnavailable, PayloadError, UpstreamError
from core.metrics import Metrics
from core.models import SpooledDelivery
from core.ports import DeliverySpool
from starter.drain_order import RIPE_COUNT, DrainOrder
from starter.intake import Intake

log = structlog.get_logger(__name__)

# Entries read at a time; one incident's entries read together are one signal.
BATCH = 1000
# How often the drainer reads what arrived since, and renews its lease, while it drains.
REFILL_SECONDS = 0.2
IDLE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0


class _LeaseLost(Exception):
    """Another replica holds the drain lease now."""


class SpoolDrainer:
    def __init__(self, spool: DeliverySpool, intake: Intake, metrics: Metrics, *, rpc_timeout: float,
                 lease_seconds: float, concurrency: int = 32, hold_seconds: float = 0.0,
                 quiet_seconds: float = 0.0, ripe: int = RIPE_COUNT) -> None:
        self._spool = spool
        self._intake = intake
        self._metrics = metrics
        self._rpc_timeout = rpc_timeout
        self._lease_seconds = lease_seconds
        self._owner = f"drainer-{uuid.uuid4().hex[:12]}"
        self._concurrency = concurrency
        self._hold_seconds = hold_seconds
        self._quiet_seconds = quiet_seconds
        self._ripe = ripe

    async def run(self, stop: asyncio.Event) -> None:
        backoff = IDLE_SECONDS
        while not stop.is_set():
            try:
                await self.drain_once()
                backoff = IDLE_SECONDS
            except (IntakeUnavailable, UpstreamError) as exc:
                log.info("spool not drained yet", reason=str(exc), retry_in=backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception:  # noqa: BLE001 - the drainer must outlive any one bad moment
                log.exception("spool drainer failed; retrying")
                backoff = MAX_BACKOFF_SECONDS
            try:
                await asyncio.wait_for(stop.wait(), backoff)
            except TimeoutError:
                pass
        try:
            await self._spool.release_lease(self._owner)
        except UpstreamError:
            pass  # it runs out by itself

    async def drain_once(self) -> int:
        """Start what the spool holds while this replica holds the lease, in the drain order
        (starter/drain_order.py): the probe and critical alerts first, sender groups in turn, each
        incident's entries in arrival order. New entries join the order as they arrive (every
        REFILL_SECONDS), so an alert spooled behind a storm does not wait for all of it. Returns how
        many were started."""
        stats = await self._spool.stats()
        self._metrics.spool_depth.set(stats.depth)
        if stats.depth == 0 or not await self._spool.acquire_lease(self._owner, self._lease_seconds):
            return 0
        order = DrainOrder(self._hold_seconds, quiet_seconds=self._quiet_seconds, ripe=self._ripe)
        running: dict[asyncio.Task[int], str] = {}
        last: str | None = None
        started = 0
        failure: BaseException | None = None
        loop = asyncio.get_running_loop()
        refill_at = 0.0
        try:
            while True:
                if failure is None and loop.time() >= refill_at:
                    if not await self._spool.acquire_lease(self._owner, self._lease_seconds):
                        failure = _LeaseLost()  # another replica took over: finish what runs, stop
                    else:
                        entries = await self._spool.oldest(BATCH, after=last)
                        if entries:
                            last = entries[-1][0]
                            order.add(entries)
                        refill_at = loop.time() + REFILL_SECONDS
                while failure is None and len(running) < self._concurrency:
                    batch = order.next(datetime.now(timezone.utc))
                    if batch is None:
                        break
                    running[asyncio.ensure_future(self._start_in_order(batch.entries))] = batch.workflow_id
                if not running:
                    if failure is not None or (not len(order) and loop.time() < refill_at
                                               and not await self._spool.oldest(1, after=last)):
                        break
                    await asyncio.sleep(max(refill_at - loop.time(), 0.0))
                    continue
                finished, _ = await asyncio.wait(running, timeout=max(refill_at - loop.time(), 0.01),
                                                 return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    workflow_id = running.pop(task)
                    order.done(workflow_id)
                    if task.exception() is not None:
                        failure = failure or task.exception()
                    else:
                        started += task.result()
        finally:
            for task in running:
                task.cancel()
        self._metrics.spool_depth.set(await self._spool.depth())
        if failure is not None and not isinstance(failure, _LeaseLost):
            raise failure  # what stayed is retried after the backoff, still in order per incident
        return started

    async def _start_in_order(self, entries: list[tuple[str, SpooledDelivery]]) -> int:
        """Start one incident's entries, oldest first, as one batch signal; then remove them.

        Entries whose delivery the worker already recorded are dropped without sending. Raises when
        Temporal did not take them (they stay, in order, for the next round)."""
        ref = entries[0][1].ref
        bound = log.bind(workflow_id=ref.workflow_id)
        handled = await self._intake.handled([item.delivery.delivery_id for _, item in entries])
        fresh = [(entry_id, item) for (entry_id, item), done in zip(entries, handled, strict=True) if not done]
        if len(fresh) < len(entries):
            bound.info("spooled deliveries already handled; dropped", count=len(entries) - len(fresh))
        started = await self._start(fresh, bound) if fresh else 0
        await self._spool.remove_many([entry_id for entry_id, _ in entries])
        return started

    async def _start(self, entries: list[tuple[str, SpooledDelivery]], bound: structlog.BoundLogger) -> int:
        try:
            await self._intake.deliver(entries[0][1].ref, [item.delivery for _, item in entries],
                                       timeout=self._rpc_timeout)
        except PayloadError as exc:
            if len(entries) > 1:
                # Find the one Temporal refuses; the others go on, still in order.
                return sum([await self._start([entry], bound) for entry in entries])
            entry_id, item = entries[0]
            bound.error("Temporal refused a spooled delivery for good; removed from the spool",
                        detail=str(exc), delivery=item.model_dump_json()[:4000])
            self._metrics.spool_refused.inc()
            return 0
        self._metrics.spool_started.inc(len(entries))
        return len(entries)
