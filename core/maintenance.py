"""Maintenance windows: named Alertmanager time intervals plus matchers; inside one, a matching alert
behaves as silenced.

Pure: :func:`parse_maintenance` takes the settings file's already-loaded document (YAML or JSON),
so the file format and its reading live in the adapter (activities/valkey/maintenance.py). The document::

    time_intervals:                      # optional, Alertmanager's own block, reusable by name
      - name: nights
        time_intervals:
          - times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "06:00"}]
            location: Europe/Berlin
    windows:
      - name: db-nightly
        matchers: ['service="postgres"', 'env=~"prod|staging"']   # or one string '{service="postgres"}'
        time_intervals: [nights]         # names from above...
        # ...or inline periods: time_intervals: [{weekdays: [saturday], location: UTC}]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from core.silences import Matcher, SilenceInvalid, parse_matchers
from core.time_intervals import TimeInterval, TimeIntervalInvalid, parse_interval, parse_period

__all__ = ["MaintenanceWindow", "MaintenanceInvalid", "parse_maintenance"]


class MaintenanceInvalid(TimeIntervalInvalid):
    """The maintenance file is not what :func:`parse_maintenance` documents; the message says where."""


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    matchers: tuple[Matcher, ...]
    intervals: tuple[TimeInterval, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def contains(self, instant: datetime) -> bool:
        return any(i.contains(instant) for i in self.intervals)

    def covers(self, labels: Mapping[str, str], instant: datetime) -> bool:
        return self.matches(labels) and self.contains(instant)

    def leaves_at(self, instant: datetime) -> datetime | None:
        """When the window, holding at ``instant``, first stops holding (None: not within years).
        Its intervals are one union, so their periods are walked as one interval."""
        union = TimeInterval(name=self.name, periods=tuple(p for i in self.intervals for p in i.periods))
        return union.leaves_at(instant)


def parse_maintenance(document: object) -> tuple[MaintenanceWindow, ...]:
    if document is None:
        return ()
    if not isinstance(document, Mapping):
        raise MaintenanceInvalid("the maintenance file must be a mapping with `windows` (and optionally "
                                 "`time_intervals`)")
    unknown = set(document) - {"windows", "time_intervals"}
    if unknown:
        raise MaintenanceInvalid(f"unknown top-level key(s) {sorted(map(str, unknown))}: expected windows, "
                                 "time_intervals")
    named: dict[str, TimeInterval] = {}
    for i, entry in enumerate(document.get("time_intervals") or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise MaintenanceInvalid(f"time_intervals entry {i}: needs a name and its time_intervals")
        if entry["name"] in named:
            raise MaintenanceInvalid(f"time interval {entry['name']!r} is defined twice")
        named[entry["name"]] = parse_interval(entry["name"], entry.get("time_intervals"))
    windows = [_window(i, raw, named) for i, raw in enumerate(document.get("windows") or [])]
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise MaintenanceInvalid(f"window names must be unique: {names}")
    return tuple(windows)


def _window(i: int, raw: object, named: Mapping[str, TimeInterval]) -> MaintenanceWindow:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise MaintenanceInvalid(f"windows entry {i}: needs a name, matchers and time_intervals")
    name = raw["name"].strip()
    unknown = set(raw) - {"name", "matchers", "time_intervals"}
    if unknown:
        raise MaintenanceInvalid(f"window {name!r}: unknown key(s) {sorted(map(str, unknown))}")
    matchers = _matchers(name, raw.get("matchers"))
    entries = raw.get("time_intervals")
    if not isinstance(entries, list) or not entries:
        raise MaintenanceInvalid(f"window {name!r}: time_intervals must list interval names or periods")
    intervals: list[TimeInterval] = []
    for j, entry in enumerate(entries):
        if isinstance(entry, str):
            if entry not in named:
                raise MaintenanceInvalid(f"window {name!r}: no time interval named {entry!r} "
                                         f"(known: {sorted(named)})")
            intervals.append(named[entry])
        else:
            period = parse_period(entry, where=f"window {name!r} time_intervals entry {j}")
            intervals.append(TimeInterval(name=f"{name}[{j}]", periods=(period,)))
    return MaintenanceWindow(name=name, matchers=tuple(matchers), intervals=tuple(intervals))


def _matchers(name: str, raw: object) -> list[Matcher]:
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise MaintenanceInvalid(f"window {name!r}: matchers must be a list of matcher strings like "
                                 "'service=\"postgres\"' (a window without matchers would silence everything)")
    try:
        matchers = [m for text in texts for m in parse_matchers(text)]
    except SilenceInvalid as exc:
        raise MaintenanceInvalid(f"window {name!r}: {exc}") from exc
    if not matchers or all(m.matches_value("") for m in matchers):
        raise MaintenanceInvalid(f"window {name!r}: at least one matcher must not match the empty string")
    return matchers
