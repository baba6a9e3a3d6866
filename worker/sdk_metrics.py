"""The Temporal SDK's own metrics (task latency, schedule-to-start, polls, slots) on awoooi's
/metrics, beside awoooi's: one endpoint to scrape, not two.

The SDK core records into a MetricBuffer, a bounded queue someone must empty; this module empties
it on the worker's own schedule (a thread, every ``AWOOOI_WORKER_SDK_METRICS_DRAIN_SECONDS``, and once
more at shutdown), whether or not anyone scrapes, and folds the updates into totals (counters), last
values (gauges) and bucketed histograms, named as the SDK's own Prometheus exporter names them
(``temporal_`` prefix, durations in seconds). A scrape reads what the drains folded in.

Why a schedule: it used to be drained only on a scrape. A worker nobody scraped filled the buffer
within minutes of a storm, and from then on the core wrote one "Core's metrics buffer is full!"
error per metric call it dropped (426,872 lines, 97 MB in 9 minutes, issue 19).

A full buffer is worse than lost updates: the core also queues there the creation of each
instrument and attribute set, and a later update to one whose creation was dropped makes the next
drain panic (the SDK raises a PanicException, and that drain's whole batch is lost). So the buffer
must never fill (hence a thread of its own, and a quicker drain after a big one); should it fill
all the same (a burst beyond the buffer within one interval), both failures are counted (``awoooi_sdk_metric_updates_dropped_total``,
``awoooi_sdk_metric_drains_failed_total``) and said in one warning each, then at most one per
``WARN_EVERY_SECONDS`` (:class:`Throttled`). The core's per-call line cannot be turned off on its
own without losing the count, so it is filtered where it arrives in Python (core/logging.py
forwards the core's lines to the stdlib logger ``temporalio.sdk_core``): :class:`DroppedUpdates`.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

from core.logging import SDK_CORE_LOGGER, sdk_core_logging

log = structlog.get_logger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The core's line for each metric call it drops while the buffer is full (sdk-core telemetry/metrics.rs).
BUFFER_FULL_MESSAGE = "metrics buffer is full"
WARN_EVERY_SECONDS = 600.0
# After a drain that found the buffer over half full: the next one comes this soon.
BURST_WAIT_SECONDS = 0.05
CHECK = ("a burst beyond the buffer within one drain: a larger AWOOOI_WORKER_SDK_METRICS_BUFFER "
         "or a shorter AWOOOI_WORKER_SDK_METRICS_DRAIN_SECONDS")

Labels = tuple[tuple[str, str], ...]


class Throttled:
    """A count, and a warning about it: the first time, then at most once per ``every`` seconds,
    each saying how many happened since the last one. Thread-safe (the SDK's log-forwarding thread
    counts into one, the drain thread into the other)."""

    def __init__(self, message: str, every: float, **context: Any) -> None:
        self.message = message
        self.every = every
        self.context = context
        self.total = 0
        self._since = 0
        self._warned_at: float | None = None
        self._lock = threading.Lock()

    def count(self, n: int = 1, **detail: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self.total += n
            self._since += n
            if self._warned_at is not None and now - self._warned_at < self.every:
                return
            since, self._since, self._warned_at = self._since, 0, now
        log.warning(self.message, since_last_warning=since, total=self.total,
                    next_warning_in_seconds=self.every, **self.context, **detail)


class DroppedUpdates(logging.Filter):
    """Lets every core line through but the per-dropped-call one, which it counts instead."""

    def __init__(self, counter: Throttled) -> None:
        super().__init__()
        self.counter = counter

    def filter(self, record: logging.LogRecord) -> bool:
        if BUFFER_FULL_MESSAGE not in record.getMessage():
            return True
        self.counter.count()
        return False


class SdkMetrics:
    """The worker's Temporal runtime: its metrics buffered for :class:`SdkMetricsCollector` and
    drained by a thread of its own every ``drain_seconds`` (:meth:`start`), so a busy event loop
    cannot hold the drain up; its core's log lines forwarded to stdlib logging, where
    :class:`DroppedUpdates` turns the per-dropped-call line into a counter.

    A drain that finds the buffer over half full drains again almost at once (a burst); a drain
    that fails waits twice as long each time, up to ``warn_every``: after a full buffer every drain
    may fail the same way, and the SDK prints each failure's panic to stderr, outside our logging.
    ``close()`` stops the thread and drains once more (what the worker's shutdown recorded). The filter
    stays: the core's forwarding thread still delivers lines after the last drain (seen under load),
    and each must still be counted, not printed.
    """

    def __init__(self, buffer_size: int, drain_seconds: float, *, warn_every: float = WARN_EVERY_SECONDS) -> None:
        self.buffer_size = buffer_size
        self.drain_seconds = drain_seconds
        self.warn_every = warn_every
        context = {"buffer_size": buffer_size, "drain_seconds": drain_seconds, "check": CHECK}
        self.dropped = Throttled("the Temporal SDK's metrics buffer was full: metric updates dropped "
                                 "(awoooi_sdk_metric_updates_dropped_total)", warn_every, **context)
        self.failed = Throttled("a drain of the Temporal SDK's metrics failed and its updates were lost "
                                "(awoooi_sdk_metric_drains_failed_total): after a full buffer the SDK refuses "
                                "updates to instruments whose creation it dropped; a restart restores them",
                                warn_every, **context)
        self._filter = DroppedUpdates(self.dropped)
        self._logger = logging.getLogger(SDK_CORE_LOGGER)
        self._logger.addFilter(self._filter)
        buffer = MetricBuffer(buffer_size, duration_format=MetricBufferDurationFormat.SECONDS)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer, logging=sdk_core_logging()))
        self.collector = SdkMetricsCollector(buffer, self.dropped, self.failed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._drain_on_schedule, name="sdk-metrics-drain", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.collector.drain()

    def _drain_on_schedule(self) -> None:
        wait = self.drain_seconds
        while not self._stop.wait(wait):
            wait = next_wait(self.collector.drain(), wait, buffer_size=self.buffer_size,
                             drain_seconds=self.drain_seconds, longest=self.warn_every)


def next_wait(drained: int | None, last_wait: float, *, buffer_size: int, drain_seconds: float,
              longest: float) -> float:
    """Seconds to the next drain, after one that took ``drained`` updates (None: it failed): at once
    after a burst (over half the buffer), twice the last wait after a failure (up to ``longest``),
    else the schedule."""
    if drained is None:
        return min(max(last_wait, drain_seconds) * 2, max(longest, drain_seconds))
    if drained > buffer_size // 2:
        return min(drain_seconds, BURST_WAIT_SECONDS)
    return drain_seconds


class SdkMetricsCollector(Collector):
    def __init__(self, buffer: MetricBuffer, dropped: Throttled, failed: Throttled) -> None:
        self._buffer = buffer
        self._dropped = dropped
        self._failed = failed
        self._lock = threading.Lock()
        self._help: dict[str, str] = {}
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        # name -> labels -> [bucket counts..., count, sum]
        self._histograms: dict[str, dict[Labels, list[float]]] = {}
        self._drained = 0

    def drain(self) -> int | None:
        """Fold what the buffer holds into the totals; how many updates it held, None when the SDK
        failed to hand them over. Never raises: metrics never stop the worker."""
        try:
            updates = self._buffer.retrieve_updates()
        except BaseException as exc:  # noqa: BLE001 - the SDK's PanicException derives from BaseException
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise  # KeyboardInterrupt, SystemExit
            self._failed.count(error=type(exc).__name__, detail=str(exc)[:200])
            return None
        with self._lock:
            self._drained += len(updates)
            for update in updates:
                metric = update.metric
                # The core names them with its prefix already (``temporal_``): it was added twice
                # (``temporal_temporal_request_total``) until issue 19.
                name = metric.name if metric.name.startswith("temporal_") else "temporal_" + metric.name
                self._help.setdefault(name, metric.description or metric.name)
                labels: Labels = tuple(sorted((k, str(v)) for k, v in update.attributes.items()))
                value = float(update.value)
                if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                    series = self._counters.setdefault(name, {})
                    series[labels] = series.get(labels, 0.0) + value
                elif metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                    self._gauges.setdefault(name, {})[labels] = value
                else:
                    row = self._histograms.setdefault(name, {}).setdefault(labels, [0.0] * (len(BUCKETS) + 2))
                    index = bisect_left(BUCKETS, value)
                    if index < len(BUCKETS):
                        row[index] += 1
                    row[-2] += 1
                    row[-1] += value
        return len(updates)

    def collect(self) -> Iterator[Any]:
        """What the drains folded in so far (a scrape does not drain: one thread does, on schedule)."""
        yield CounterMetricFamily(
            "awoooi_sdk_metric_updates_drained",
            "Temporal SDK metric updates taken from its buffer into these metrics.",
            value=self._drained)
        yield CounterMetricFamily(
            "awoooi_sdk_metric_updates_dropped",
            "Temporal SDK metric updates dropped because its buffer was full (not drained in time).",
            value=self._dropped.total)
        yield CounterMetricFamily(
            "awoooi_sdk_metric_drains_failed",
            "Drains of the Temporal SDK's metrics buffer that failed, their updates lost (after a full buffer).",
            value=self._failed.total)
        with self._lock:
            for name, series in self._counters.items():
                keys = _keys(series)
                family = CounterMetricFamily(name.removesuffix("_total"), self._help[name], labels=keys)
                for labels, value in series.items():
                    family.add_metric(_values(keys, labels), value)
                yield family
            for name, series in self._gauges.items():
                keys = _keys(series)
                family = GaugeMetricFamily(name, self._help[name], labels=keys)
                for labels, value in series.items():
                    family.add_metric(_values(keys, labels), value)
                yield family
            for name, series in self._histograms.items():
                keys = _keys(series)
                family = HistogramMetricFamily(name, self._help[name], labels=keys)
                for labels, row in series.items():
                    cumulative, buckets = 0.0, []
                    for bound, count in zip(BUCKETS, row, strict=False):
                        cumulative += count
                        buckets.append((str(bound), cumulative))
                    buckets.append(("+Inf", row[-2]))
                    family.add_metric(_values(keys, labels), buckets, row[-1])
                yield family


def _keys(series: dict[Labels, Any]) -> list[str]:
    """Every label name any series of the metric has (a family needs one set; missing ones are "")."""
    return sorted({key for labels in series for key, _ in labels})


def _values(keys: list[str], labels: Labels) -> list[str]:
    present = dict(labels)
    return [present.get(key, "") for key in keys]
