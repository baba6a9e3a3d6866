"""The Temporal SDK's own metrics (task latency, schedule-to-start, polls, slots) on awoooi's
/metrics, beside awoooi's: one endpoint to scrape, not two.

The SDK core records into a MetricBuffer; this collector drains it on each scrape and folds the
updates into totals (counters), last values (gauges) and bucketed histograms, named as the SDK's
own Prometheus exporter names them (``temporal_`` prefix, durations in seconds).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

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

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BUFFER_SIZE = 50_000

Labels = tuple[tuple[str, str], ...]


def buffered_runtime() -> tuple[Runtime, MetricBuffer]:
    buffer = MetricBuffer(BUFFER_SIZE, duration_format=MetricBufferDurationFormat.SECONDS)
    return Runtime(telemetry=TelemetryConfig(metrics=buffer)), buffer


class SdkMetricsCollector(Collector):
    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._lock = threading.Lock()
        self._help: dict[str, str] = {}
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        # name -> labels -> [bucket counts..., count, sum]
        self._histograms: dict[str, dict[Labels, list[float]]] = {}

    def drain(self) -> None:
        with self._lock:
            for update in self._buffer.retrieve_updates():
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

    def collect(self) -> Iterator[Any]:
        self.drain()
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
