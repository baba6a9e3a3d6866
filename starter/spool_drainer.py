"""Start the spooled deliveries, oldest first, once Temporal answers again.

Runs in every API replica; the lease in Valkey lets one drain at a time, so the order in which
deliveries arrived is the order their signals reach Temporal (a resolution never overtakes its
firing). A replica that dies holding the lease is replaced when the lease runs out.

Each entry is removed only after Temporal recorded it. A drainer that died between the two re-sends
the entry: the workflow drops a delivery id it has seen, and an entry whose delivery the worker
already recorded (the ledger's delivery key) is removed without sending. An entry Temporal refuses
for good (INVALID_ARGUMENT) would block everything behind it: it is logged whole (an error line
with the delivery's JSON, so nothing vanishes silently), removed, and counted in
awoooi_spool_refused_total.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from core.errors import IntakeUnavailable, PayloadError, UpstreamError
from core.metrics import Metrics
from core.models import SpooledDelivery
from core.ports import DeliverySpool
from starter.intake import Intake

log = structlog.get_logger(__name__)

BATCH = 100
IDLE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0


class SpoolDrainer:
    def __init__(self, spool: DeliverySpool, intake: Intake, metrics: Metrics, *, rpc_timeout: float,
                 lease_seconds: float, concurrency: int = 32) -> None:
        self._spool = spool
        self._intake = intake
        self._metrics = metrics
        self._rpc_timeout = rpc_timeout
        self._lease_seconds = lease_seconds
        self._owner = f"drainer-{uuid.uuid4().hex[:12]}"
        self._slots = asyncio.Semaphore(concurrency)

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
        """Start what the spool holds, in order, while this replica holds the lease. Returns how many."""
        stats = await self._spool.stats()
        self._metrics.spool_depth.set(stats.depth)
        if stats.depth == 0 or not await self._spool.acquire_lease(self._owner, self._lease_seconds):
            return 0
        started = 0
        while True:
            entries = await self._spool.oldest(BATCH)
            if not entries:
                self._metrics.spool_depth.set(0)
                return started
            if not await self._spool.acquire_lease(self._owner, self._lease_seconds):
                return started  # another replica took over
            # Order matters within an incident (its firing before its resolution), not across them:
            # each incident's entries go one after another, different incidents side by side.
            by_incident: dict[str, list[tuple[str, SpooledDelivery]]] = {}
            for entry_id, item in entries:
                by_incident.setdefault(item.ref.workflow_id, []).append((entry_id, item))
            outcomes = await asyncio.gather(*(self._start_in_order(batch) for batch in by_incident.values()),
                                            return_exceptions=True)
            started += sum(n for n in outcomes if isinstance(n, int))
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome  # what stayed is retried after the backoff, still in order
            self._metrics.spool_depth.set(await self._spool.depth())

    async def _start_in_order(self, entries: list[tuple[str, SpooledDelivery]]) -> int:
        """Start one incident's entries oldest first; stop at the first that Temporal did not take."""
        started = 0
        async with self._slots:
            for entry_id, item in entries:
                started += await self._start_one(entry_id, item)
        return started

    async def _start_one(self, entry_id: str, item: SpooledDelivery) -> int:
        """Start one entry (1) or drop it (0), then remove it; raises when Temporal did not take it."""
        delivery = item.delivery
        bound = log.bind(workflow_id=item.ref.workflow_id, delivery_id=delivery.delivery_id)
        started = 0
        if await self._intake.already_handled(delivery.delivery_id):
            bound.info("spooled delivery already handled; dropped")
        else:
            try:
                await self._intake.deliver(item.ref, delivery, timeout=self._rpc_timeout)
            except PayloadError as exc:
                bound.error("Temporal refused a spooled delivery for good; removed from the spool",
                            detail=str(exc), delivery=item.model_dump_json()[:4000])
                self._metrics.spool_refused.inc()
            else:
                started = 1
                self._metrics.spool_started.inc()
        await self._spool.remove(entry_id)
        return started
