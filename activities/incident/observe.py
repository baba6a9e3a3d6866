"""Incident metrics observed once: MTTA, MTTR and repair outcomes (issue 21, docs/adr/0025).

The workflow asks once per lifecycle (its state remembers what it asked for), but an activity can be
retried and a local activity re-run on replay after a worker restart: so the observation is made
only by the call that sets the metric's once-key in Valkey (SET NX). At most once, never twice: a
crash between the key and the observation loses that one sample, which a histogram can spare.
"""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.failures import to_application_error
from core.errors import UpstreamError
from core.inputs import ObserveInput
from core.metrics import REPAIR_OUTCOMES, Metrics
from core.ports import IdempotencyLedger

log = structlog.get_logger(__name__)

_HISTOGRAM_LABELS = ("service", "severity", "source")


class ObserveActivities:
    def __init__(self, ledger: IdempotencyLedger, metrics: Metrics) -> None:
        self._ledger = ledger
        self._metrics = metrics

    @activity.defn(name="observe_incident")
    async def observe(self, inp: ObserveInput) -> bool:
        """True when this call observed it; False when an earlier attempt already had."""
        bound = log.bind(once_key=inp.once_key, metric=inp.metric)
        try:
            first = await self._ledger.first_observation(inp.once_key)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        if not first:
            bound.info("incident metric already observed")
            return False
        if inp.metric == "repair_outcome":
            outcome = inp.labels.get("outcome", "")
            if outcome not in REPAIR_OUTCOMES:
                bound.warning("unknown repair outcome, not counted", outcome=outcome)
                return False
            self._metrics.repair_outcomes.labels(service=inp.labels.get("service", ""),
                                                 action=inp.labels.get("action", ""), outcome=outcome).inc()
            return True
        histogram = {"time_to_acknowledge": self._metrics.time_to_acknowledge,
                     "time_to_resolve": self._metrics.time_to_resolve}.get(inp.metric)
        if histogram is None:
            bound.warning("unknown incident metric, not observed")
            return False
        histogram.labels(**{name: inp.labels.get(name, "") for name in _HISTOGRAM_LABELS}).observe(inp.value)
        return True
