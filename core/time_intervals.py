"""Alertmanager's ``time_intervals``: recurring wall-clock periods, and whether an instant is inside one.

Pure. The syntax and the answers are Alertmanager's (``timeinterval`` package, 0.25), so a block copied
from an Alertmanager config means the same here:

- ``times``: ``start_time``/``end_time`` as ``HH:MM``, start inclusive, end exclusive, ``24:00`` allowed
  as an end. A start at or after its end is refused: a period crossing midnight is two ranges
  (``22:00``-``24:00`` and ``00:00``-``06:00``), each tied to its own weekdays if need be;
- ``weekdays``: ``monday`` or ``monday:friday`` (a range never wraps past Saturday into Sunday);
- ``days_of_month``: ``1``, ``1:5``, ``-3:-1`` (negative counts from the month's end, ``-1`` its last day);
- ``months``: ``january``..``december`` or ``1``..``12``, single or ranges; ``years``: ``2026`` or ``2026:2030``;
- ``location``: an IANA zone; every field is read in that zone's wall clock (so a 09:00 start is 09:00
  local in winter and in summer, and a period over a DST change is an hour shorter or longer), UTC if absent.

An interval is a list of such periods; an instant is inside when any period holds it, and inside a
period when every field it sets holds (absent fields hold always).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from core.errors import PayloadError

__all__ = ["Period", "TimeInterval", "TimeIntervalInvalid", "parse_interval", "parse_period"]

_CLOCK = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}
MONTHS = {name: i for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
_FIELDS = {"times", "weekdays", "days_of_month", "months", "years", "location"}
# How many period boundaries :meth:`TimeInterval.leaves_at` walks before it calls an interval open-ended
# (a boundary is at most a day apart while inside, so this is years of continuous "inside").
_MAX_STEPS = 2000


class TimeIntervalInvalid(PayloadError):
    """A time interval Alertmanager would refuse; the message names the field and the value."""


Range = tuple[int, int]


class Period(BaseModel):
    """One Alertmanager time interval entry, parsed: ranges inclusive except ``times`` (end exclusive)."""

    model_config = ConfigDict(frozen=True)

    times: tuple[Range, ...] | None = None  # minutes of the day
    weekdays: tuple[Range, ...] | None = None  # 0 = Sunday, as Go's time.Weekday
    days_of_month: tuple[Range, ...] | None = None
    months: tuple[Range, ...] | None = None
    years: tuple[Range, ...] | None = None
    location: str = "UTC"

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.location)

    def contains(self, instant: datetime) -> bool:
        local = _aware(instant).astimezone(self.zone())
        if self.times is not None:
            minute = local.hour * 60 + local.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        if self.days_of_month is not None and not _in_days_of_month(self.days_of_month, local.date()):
            return False
        if self.months is not None and not _within(self.months, local.month):
            return False
        if self.weekdays is not None and not _within(self.weekdays, local.isoweekday() % 7):
            return False
        if self.years is not None and not _within(self.years, local.year):
            return False
        return True

    def next_exit_candidate(self, instant: datetime) -> datetime:
        """The earliest instant after ``instant`` at which this period may stop holding: the end of the
        time range holding it, or the next local midnight (where every day field can change)."""
        zone = self.zone()
        local = _aware(instant).astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0))
        wall = midnight
        if self.times is not None:
            minute = local.hour * 60 + local.minute
            ends = [end for start, end in self.times if start <= minute < end]
            if ends:
                wall = datetime.combine(local.date(), time(0)) + timedelta(minutes=min(ends))
        return _first_instant_at(zone, wall, after=_aware(instant))


class TimeInterval(BaseModel):
    """A named list of periods (Alertmanager's ``time_intervals`` entry): inside when any period is."""

    model_config = ConfigDict(frozen=True)

    name: str
    periods: tuple[Period, ...]

    def contains(self, instant: datetime) -> bool:
        return any(p.contains(instant) for p in self.periods)

    def leaves_at(self, instant: datetime) -> datetime | None:
        """When an instant inside the interval is first outside it (``instant`` itself if outside);
        None when the interval holds for years on end from here (say, ``years: 2026:2040``)."""
        at = _aware(instant).astimezone(timezone.utc)
        for _ in range(_MAX_STEPS):
            holding = [p for p in self.periods if p.contains(at)]
            if not holding:
                return at
            nxt = min(p.next_exit_candidate(at) for p in holding)
            at = nxt if nxt > at else at + timedelta(minutes=1)
        return None


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("a time interval needs an aware datetime (a naive one has no zone to convert)")
    return instant


def _within(ranges: Iterable[Range], value: int) -> bool:
    return any(lo <= value <= hi for lo, hi in ranges)


def _days_in_month(day: date) -> int:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (first_next - timedelta(days=1)).day


def _in_days_of_month(ranges: Iterable[Range], day: date) -> bool:
    """Alertmanager's rule: negative days count from the month's end; a range starting after the
    month's last day is skipped; an end past it is clamped to it."""
    days = _days_in_month(day)
    for lo, hi in ranges:
        begin = days + lo + 1 if lo < 0 else lo
        end = days + hi + 1 if hi < 0 else hi
        if begin > days:
            continue
        begin, end = max(-days, min(begin, days)), max(-days, min(end, days))
        if begin <= day.day <= end:
            return True
    return False


def _first_instant_at(zone: ZoneInfo, wall: datetime, *, after: datetime) -> datetime:
    """The first instant whose wall clock in ``zone`` reads ``wall`` or later.

    Usually ``wall`` itself (its first occurrence when the clock goes back). When ``wall`` does not
    exist (skipped by a DST change), the instant the clock jumps over it, found by halving.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    lo, hi = max(after, first - timedelta(hours=3)), first  # the jump is at most a few hours before
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


# ---------------------------------------------------------------------------------------------- parsing


def parse_interval(name: str, periods: object) -> TimeInterval:
    """A ``time_intervals`` list as written in Alertmanager's config (YAML or JSON, already loaded)."""
    if not isinstance(periods, list) or not periods:
        raise TimeIntervalInvalid(f"time interval {name!r}: time_intervals must be a non-empty list")
    return TimeInterval(name=name, periods=tuple(parse_period(p, where=f"{name!r} entry {i}")
                                                 for i, p in enumerate(periods)))


def parse_period(raw: object, *, where: str = "time interval") -> Period:
    if not isinstance(raw, Mapping):
        raise TimeIntervalInvalid(f"{where}: expected a mapping of times/weekdays/days_of_month/months/years/location")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise TimeIntervalInvalid(f"{where}: unknown field(s) {sorted(map(str, unknown))} "
                                  f"(Alertmanager knows {sorted(_FIELDS)})")
    location = raw.get("location") or "UTC"
    try:
        ZoneInfo(str(location))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeIntervalInvalid(f"{where}: unknown location {location!r} (an IANA zone like Europe/Berlin)") from exc
    return Period(times=_times(raw.get("times"), where),
                  weekdays=_ranges(raw.get("weekdays"), "weekdays", _weekday, where),
                  days_of_month=_ranges(raw.get("days_of_month"), "days_of_month", _day_of_month, where),
                  months=_ranges(raw.get("months"), "months", _month, where),
                  years=_ranges(raw.get("years"), "years", _year, where),
                  location=str(location))


def _list(value: object, field: str, where: str) -> list[object] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TimeIntervalInvalid(f"{where}: {field} must be a list")
    return value


def _times(value: object, where: str) -> tuple[Range, ...] | None:
    items = _list(value, "times", where)
    if items is None:
        return None
    out: list[Range] = []
    for item in items:
        if not isinstance(item, Mapping) or set(item) != {"start_time", "end_time"}:
            raise TimeIntervalInvalid(f"{where}: each of times needs start_time and end_time (and nothing else)")
        start, end = _clock(item["start_time"], where), _clock(item["end_time"], where)
        if start >= end:
            raise TimeIntervalInvalid(f"{where}: start time {item['start_time']} is not before end time "
                                      f"{item['end_time']}; a period over midnight is two ranges "
                                      "(22:00-24:00 and 00:00-06:00)")
        out.append((start, end))
    return tuple(out)


def _clock(value: object, where: str) -> int:
    text = str(value).strip()
    if not _CLOCK.match(text):
        raise TimeIntervalInvalid(f"{where}: {value!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _ranges(value: object, field: str, parse, where: str) -> tuple[Range, ...] | None:  # noqa: ANN001
    items = _list(value, field, where)
    if items is None:
        return None
    out: list[Range] = []
    for item in items:
        text = str(item).strip().lower()
        lo_text, sep, hi_text = text.partition(":")
        try:
            lo = parse(lo_text)
            hi = parse(hi_text) if sep else lo
        except (KeyError, ValueError) as exc:
            raise TimeIntervalInvalid(f"{where}: {field} entry {item!r}: {exc}") from exc
        _check_order(field, lo, hi, item, where)
        out.append((lo, hi))
    return tuple(out)


def _check_order(field: str, lo: int, hi: int, item: object, where: str) -> None:
    if field == "days_of_month":
        if lo < 0 < hi:
            raise TimeIntervalInvalid(f"{where}: days_of_month {item!r}: the end must be negative if the start is")
        # Only always-wrong ranges are refused (a 28-day month is the shortest), as Alertmanager does.
        lo, hi = (28 + lo if lo < 0 else lo), (28 + hi if hi < 0 else hi)
    if lo > hi:
        hint = " (weeks start on Sunday, as in Alertmanager: write saturday, sunday)" if field == "weekdays" else ""
        raise TimeIntervalInvalid(f"{where}: {field} {item!r}: the end comes before the start{hint}")


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise ValueError(f"{text!r} is not a weekday (monday..sunday)")
    return WEEKDAYS[text]


def _day_of_month(text: str) -> int:
    day = int(text)
    if day == 0 or not -31 <= day <= 31:
        raise ValueError(f"{day} is not a day of the month (1..31 or -31..-1)")
    return day


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS[text]
    month = int(text)
    if not 1 <= month <= 12:
        raise ValueError(f"{month} is not a month (1..12 or january..december)")
    return month


def _year(text: str) -> int:
    year = int(text)
    if year < 1:
        raise ValueError(f"{year} is not a year")
    return year
