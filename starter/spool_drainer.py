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

# Entries read per round; one incident's entries in a round are one signal (storm-v1).
BATCH = 1000
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
        """Start one incident's entries, oldest first, as one batch signal; then remove them.

        Entries whose delivery the worker already recorded are dropped without sending. Raises when
        Temporal did not take them (they stay, in order, for the next round)."""
        async with self._slots:
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
