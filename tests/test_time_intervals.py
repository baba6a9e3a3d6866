"""core/time_intervals.py and core/maintenance.py in simulated time: the examples of Alertmanager's
documentation (configuration.md, ``time_interval``), a window crossing midnight, DST changes in
Europe/Berlin and America/New_York, and how long a window still holds (``leaves_at``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.maintenance import MaintenanceInvalid, parse_maintenance
from core.time_intervals import TimeIntervalInvalid, parse_interval, parse_period

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


# --- Alertmanager's documented examples -------------------------------------------------------------


def test_times_start_inclusive_end_exclusive_with_24_00() -> None:
    """Docs: start_time '17:00' and end_time '24:00' begin at 17:00 and finish immediately before 24:00."""
    p = parse_period({"times": [{"start_time": "17:00", "end_time": "24:00"}]})
    assert not p.contains(utc(2026, 12, 7, 16, 59))
    assert p.contains(utc(2026, 12, 7, 17, 0))
    assert p.contains(utc(2026, 12, 7, 23, 59, 59))
    assert not p.contains(utc(2026, 12, 8, 0, 0))


def test_weekdays_ranges_and_names() -> None:
    """Docs: weekdays: ['monday:wednesday','saturday', 'sunday'] (names case-insensitive)."""
    p = parse_period({"weekdays": ["monday:wednesday", "Saturday", "sunday"]})
    days = {d: p.contains(utc(2026, 12, d, 12)) for d in range(6, 13)}  # Sun 6 .. Sat 12 December 2026
    assert days == {6: True, 7: True, 8: True, 9: True, 10: False, 11: False, 12: True}


def test_days_of_month_positive_negative_and_clamped() -> None:
    """Docs: days_of_month: ['1:5', '-3:-1']; -1 in January is January 31; an end past the month's
    last day is clamped (1:31 in February), a start past it never holds."""
    p = parse_period({"days_of_month": ["1:5", "-3:-1"]})
    assert [d for d in range(1, 32) if p.contains(utc(2026, 1, d, 12))] == [1, 2, 3, 4, 5, 29, 30, 31]
    assert [d for d in range(1, 29) if p.contains(utc(2026, 2, d, 12))] == [1, 2, 3, 4, 5, 26, 27, 28]
    assert parse_period({"days_of_month": ["-1"]}).contains(utc(2026, 1, 31))
    whole = parse_period({"days_of_month": ["1:31"]})
    assert all(whole.contains(utc(2026, 2, d)) for d in range(1, 29))
    late = parse_period({"days_of_month": ["30:31"]})
    assert not late.contains(utc(2026, 2, 28)) and late.contains(utc(2026, 3, 30))


def test_months_by_number_name_and_range() -> None:
    """Docs: months: ['1:3', 'may:august', 'december']."""
    p = parse_period({"months": ["1:3", "may:august", "december"]})
    assert [m for m in range(1, 13) if p.contains(utc(2026, m, 15))] == [1, 2, 3, 5, 6, 7, 8, 12]


def test_years() -> None:
    """Docs: years: ['2020:2022', '2030']."""
    p = parse_period({"years": ["2020:2022", "2030"]})
    assert [y for y in range(2019, 2032) if p.contains(utc(y, 6, 1))] == [2020, 2021, 2022, 2030]


def test_location_reads_every_field_in_that_wall_clock() -> None:
    """Docs: location: 'Australia/Sydney'. 22:30 UTC on Sunday is 09:30 on Monday in Sydney (AEDT)."""
    p = parse_period({"weekdays": ["monday"], "times": [{"start_time": "09:00", "end_time": "17:00"}],
                      "location": "Australia/Sydney"})
    assert p.contains(utc(2026, 12, 6, 22, 30))
    assert not p.contains(utc(2026, 12, 6, 21, 59))  # 08:59 Monday in Sydney
    assert not p.contains(utc(2026, 12, 7, 12, 0))  # 23:00 Monday in Sydney


def test_all_set_fields_must_hold_and_any_period_does() -> None:
    interval = parse_interval("weekend-or-nights", [
        {"weekdays": ["saturday", "sunday"]},
        {"times": [{"start_time": "00:00", "end_time": "06:00"}], "months": ["december"]},
    ])
    assert interval.contains(utc(2026, 12, 12, 15))  # Saturday
    assert interval.contains(utc(2026, 12, 9, 3))  # Wednesday night in December
    assert not interval.contains(utc(2026, 11, 11, 3))  # Wednesday night in November


# --- crossing midnight -------------------------------------------------------------------------------


FRIDAY_NIGHT = [  # Friday 22:00 to Saturday 06:00 Berlin time: two ranges, as Alertmanager requires
    {"weekdays": ["friday"], "times": [{"start_time": "22:00", "end_time": "24:00"}], "location": "Europe/Berlin"},
    {"weekdays": ["saturday"], "times": [{"start_time": "00:00", "end_time": "06:00"}], "location": "Europe/Berlin"},
]


def test_a_window_crossing_midnight_is_two_ranges() -> None:
    interval = parse_interval("friday-night", FRIDAY_NIGHT)
    inside = [local(BERLIN, 2026, 12, 11, 22, 0), local(BERLIN, 2026, 12, 11, 23, 59),
              local(BERLIN, 2026, 12, 12, 0, 0), local(BERLIN, 2026, 12, 12, 5, 59)]
    outside = [local(BERLIN, 2026, 12, 11, 21, 59), local(BERLIN, 2026, 12, 12, 6, 0),
               local(BERLIN, 2026, 12, 12, 22, 30), local(BERLIN, 2026, 12, 10, 23, 0),
               local(BERLIN, 2026, 12, 13, 3, 0)]
    assert all(interval.contains(at) for at in inside)
    assert not any(interval.contains(at) for at in outside)
    # Entering at 23:00 Friday, it holds until 06:00 Saturday, across midnight.
    assert interval.leaves_at(local(BERLIN, 2026, 12, 11, 23, 0)) == local(BERLIN, 2026, 12, 12, 6, 0)
    assert interval.leaves_at(local(BERLIN, 2026, 12, 11, 21, 0)) == local(BERLIN, 2026, 12, 11, 21, 0)


def test_one_range_over_midnight_is_refused_with_the_way_to_write_it() -> None:
    with pytest.raises(TimeIntervalInvalid, match="two ranges"):
        parse_period({"times": [{"start_time": "22:00", "end_time": "06:00"}]})


def test_every_night_leaves_at_six() -> None:
    nightly = parse_interval("nightly", [{"times": [{"start_time": "22:00", "end_time": "24:00"},
                                                    {"start_time": "00:00", "end_time": "06:00"}]}])
    assert nightly.leaves_at(utc(2026, 12, 6, 23, 15)) == utc(2026, 12, 7, 6, 0)
    weekend = parse_interval("weekend", [{"weekdays": ["saturday", "sunday"]}])
    assert weekend.leaves_at(utc(2026, 12, 12, 10)) == utc(2026, 12, 14, 0, 0)
    assert parse_interval("years", [{"years": ["2026:2040"]}]).leaves_at(utc(2026, 12, 6)) is None


# --- DST changes ---------------------------------------------------------------------------------


def test_berlin_autumn_change_makes_02_to_03_last_two_hours() -> None:
    """25 Oct 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); the wall clock reads 02:xx twice."""
    p = parse_interval("two-to-three", [{"times": [{"start_time": "02:00", "end_time": "03:00"}],
                                         "location": "Europe/Berlin"}])
    assert not p.contains(utc(2026, 10, 24, 23, 59))  # 01:59 CEST
    assert p.contains(utc(2026, 10, 25, 0, 0))  # 02:00 CEST
    assert p.contains(utc(2026, 10, 25, 1, 0))  # 02:00 CET, the second time
    assert p.contains(utc(2026, 10, 25, 1, 59))
    assert not p.contains(utc(2026, 10, 25, 2, 0))  # 03:00 CET
    assert p.leaves_at(utc(2026, 10, 25, 0, 10)) == utc(2026, 10, 25, 2, 0)


def test_berlin_spring_change_ends_a_window_inside_the_skipped_hour_at_the_jump() -> None:
    """29 Mar 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens that night."""
    p = parse_interval("one-to-half-past-two", [{"times": [{"start_time": "01:00", "end_time": "02:30"}],
                                                 "location": "Europe/Berlin"}])
    assert p.contains(utc(2026, 3, 29, 0, 59))  # 01:59 CET
    assert not p.contains(utc(2026, 3, 29, 1, 0))  # 03:00 CEST
    assert p.leaves_at(utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)
    assert p.leaves_at(utc(2026, 3, 30, 0, 30)) == local(BERLIN, 2026, 3, 30, 2, 30)  # a normal night after


def test_new_york_business_hours_follow_the_wall_clock_over_the_change() -> None:
    """8 Mar 2026: New York moves from EST (UTC-5) to EDT (UTC-4); 09:00-17:00 stays 09:00-17:00 local."""
    p = parse_interval("business", [{"weekdays": ["monday:friday"],
                                     "times": [{"start_time": "09:00", "end_time": "17:00"}],
                                     "location": "America/New_York"}])
    assert not p.contains(utc(2026, 3, 6, 13, 59)) and p.contains(utc(2026, 3, 6, 14, 0))  # Friday, EST
    assert p.contains(utc(2026, 3, 6, 21, 59)) and not p.contains(utc(2026, 3, 6, 22, 0))
    assert not p.contains(utc(2026, 3, 9, 12, 59)) and p.contains(utc(2026, 3, 9, 13, 0))  # Monday, EDT
    assert not p.contains(utc(2026, 3, 9, 21, 0))
    assert p.leaves_at(utc(2026, 3, 9, 15, 0)) == local(NEW_YORK, 2026, 3, 9, 17, 0) == utc(2026, 3, 9, 21, 0)
    assert not p.contains(utc(2026, 3, 8, 15, 0))  # the Sunday of the change


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    ({"weekdays": ["friday:monday"]}, "end comes before the start"),
    ({"weekdays": ["saturday:sunday"]}, "weeks start on Sunday"),
    ({"weekdays": ["funday"]}, "not a weekday"),
    ({"days_of_month": ["-1:5"]}, "end must be negative"),
    ({"days_of_month": ["0"]}, "not a day of the month"),
    ({"days_of_month": ["5:3"]}, "end comes before the start"),
    ({"months": ["may:march"]}, "end comes before the start"),
    ({"months": ["13"]}, "not a month"),
    ({"years": ["2030:2020"]}, "end comes before the start"),
    ({"times": [{"start_time": "9:00", "end_time": "17:00"}]}, "not a time of day"),
    ({"times": [{"start_time": "09:00", "end_time": "24:01"}]}, "not a time of day"),
    ({"location": "Mars/Olympus"}, "unknown location"),
    ({"weekday": ["monday"]}, "unknown field"),
])
def test_refusals_name_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(TimeIntervalInvalid, match=message):
        parse_period(raw)


# --- maintenance windows -------------------------------------------------------------------------


def test_maintenance_windows_by_name_or_inline_with_matchers() -> None:
    windows = parse_maintenance({
        "time_intervals": [{"name": "friday-night", "time_intervals": FRIDAY_NIGHT}],
        "windows": [
            {"name": "db-nightly", "matchers": ['service="postgres"', 'env=~"prod|staging"'],
             "time_intervals": ["friday-night"]},
            {"name": "weekend-batch", "matchers": '{job="batch"}', "time_intervals": [{"weekdays": ["saturday"]}]},
        ],
    })
    db, batch = windows
    friday_late = local(BERLIN, 2026, 12, 11, 23, 0)
    assert db.covers({"service": "postgres", "env": "prod"}, friday_late)
    assert not db.covers({"service": "postgres", "env": "dev"}, friday_late)
    assert not db.covers({"service": "postgres", "env": "prod"}, local(BERLIN, 2026, 12, 11, 12, 0))
    assert db.leaves_at(friday_late) == local(BERLIN, 2026, 12, 12, 6, 0)
    assert batch.covers({"job": "batch"}, utc(2026, 12, 12, 9)) and batch.leaves_at(utc(2026, 12, 12, 9)) == utc(2026, 12, 13)


@pytest.mark.parametrize(("doc", "message"), [
    ({"windows": [{"name": "w", "time_intervals": [{"weekdays": ["monday"]}]}]}, "would silence everything"),
    ({"windows": [{"name": "w", "matchers": ['a=~".*"'], "time_intervals": [{"weekdays": ["monday"]}]}]},
     "must not match the empty string"),
    ({"windows": [{"name": "w", "matchers": ["a=b"], "time_intervals": ["nope"]}]}, "no time interval named"),
    ({"windows": [{"name": "w", "matchers": ["a=b"], "time_intervals": [{"weekdays": ["x"]}]}]}, "not a weekday"),
    ({"window": []}, "unknown top-level key"),
])
def test_maintenance_refusals(doc: object, message: str) -> None:
    with pytest.raises(MaintenanceInvalid if "weekday" not in message else TimeIntervalInvalid, match=message):
        parse_maintenance(doc)
