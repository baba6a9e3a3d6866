"""The repair budget on the real Valkey: hour and day limits, idempotency per repair id, a
read-only status, sliding windows and the key it writes.

Every reservation gets an explicit ``at`` so the windows are exercised without waiting; the
limits are the defaults (3 per hour, 7 per day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from activities.valkey.budget import RedisRepairBudget
from core.inputs import BudgetStatus

KEY = "alertmanager:api:HighMemory"
BUDGET_KEY = "awoooi:repair:budget:alertmanager:api:HighMemory"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def budget(redis: Redis) -> RedisRepairBudget:
    return RedisRepairBudget(redis, max_per_hour=3, max_per_day=7)


def spent(hour: int, day: int, *, allowed: bool) -> BudgetStatus:
    return BudgetStatus(allowed=allowed, last_hour=hour, last_day=day, max_per_hour=3, max_per_day=7)


async def test_the_fourth_repair_in_an_hour_is_refused(redis: Redis) -> None:
    b = budget(redis)
    answers = [await b.reserve(KEY, f"rep-{i}", T0 + i * MINUTE) for i in range(4)]

    assert answers == [
        spent(1, 1, allowed=True),
        spent(2, 2, allowed=True),
        spent(3, 3, allowed=True),
        spent(3, 3, allowed=False),
    ]
    assert await redis.zrange(BUDGET_KEY, 0, -1) == ["rep-0", "rep-1", "rep-2"]


async def test_the_hour_limit_lifts_once_the_oldest_leaves_the_hour(redis: Redis) -> None:
    b = budget(redis)
    for i in range(3):
        await b.reserve(KEY, f"rep-{i}", T0 + i * MINUTE)

    # rep-0 was reserved 1h01m ago: two left in the hour, three in the day.
    later = T0 + HOUR + MINUTE
    assert await b.status(KEY, later) == spent(2, 3, allowed=True)
    assert await b.reserve(KEY, "rep-3", later) == spent(3, 4, allowed=True)


async def test_the_eighth_repair_in_a_day_is_refused_though_the_hour_is_free(redis: Redis) -> None:
    b = budget(redis)
    # Two per hour, two hours apart: the hour limit never bites.
    times = [T0 + (i // 2) * 2 * HOUR + (i % 2) * MINUTE for i in range(7)]
    for i, at in enumerate(times):
        answer = await b.reserve(KEY, f"rep-{i}", at)
        assert answer.allowed, (i, answer)
        assert answer.last_hour == 1 + i % 2
        assert answer.last_day == i + 1

    eighth = times[-1] + 2 * HOUR
    assert await b.reserve(KEY, "rep-7", eighth) == spent(0, 7, allowed=False)
    assert await b.status(KEY, eighth) == spent(0, 7, allowed=False)
    assert await redis.zcard(BUDGET_KEY) == 7


async def test_reservations_older_than_a_day_stop_counting(redis: Redis) -> None:
    b = budget(redis)
    times = [T0 + (i // 2) * 2 * HOUR for i in range(7)]
    for i, at in enumerate(times):
        await b.reserve(KEY, f"rep-{i}", at)

    # A day and a minute after the first two: five remain in the day, so one more fits.
    later = T0 + DAY + MINUTE
    assert await b.status(KEY, later) == spent(0, 5, allowed=True)
    assert await b.reserve(KEY, "rep-7", later) == spent(1, 6, allowed=True)


async def test_a_retried_reservation_is_allowed_and_counted_once(redis: Redis) -> None:
    b = budget(redis)
    first = await b.reserve(KEY, "rep-a", T0)
    retried = await b.reserve(KEY, "rep-a", T0 + MINUTE)

    assert first == spent(1, 1, allowed=True)
    assert retried == spent(1, 1, allowed=True)
    assert await redis.zcard(BUDGET_KEY) == 1


async def test_a_retried_reservation_is_allowed_even_when_the_budget_is_spent(redis: Redis) -> None:
    b = budget(redis)
    for i in range(3):
        await b.reserve(KEY, f"rep-{i}", T0 + i * MINUTE)
    assert not (await b.reserve(KEY, "rep-new", T0 + 3 * MINUTE)).allowed

    # The activity that reserved rep-1 retries after a timeout: it already holds its slot.
    retried = await b.reserve(KEY, "rep-1", T0 + 4 * MINUTE)

    assert retried == spent(3, 3, allowed=True)
    assert await redis.zcard(BUDGET_KEY) == 3
    assert await redis.zscore(BUDGET_KEY, "rep-1") == (T0 + MINUTE).timestamp()


async def test_status_reads_without_spending(redis: Redis) -> None:
    b = budget(redis)
    assert await b.status(KEY, T0) == spent(0, 0, allowed=True)
    assert await redis.exists(BUDGET_KEY) == 0

    await b.reserve(KEY, "rep-0", T0)
    before = await redis.zrange(BUDGET_KEY, 0, -1, withscores=True)
    for _ in range(5):
        assert await b.status(KEY, T0 + MINUTE) == spent(1, 1, allowed=True)
    assert await redis.zrange(BUDGET_KEY, 0, -1, withscores=True) == before


async def test_status_says_not_allowed_exactly_when_a_reservation_would_be_refused(redis: Redis) -> None:
    b = budget(redis)
    for i in range(3):
        assert (await b.status(KEY, T0 + i * MINUTE)).allowed
        await b.reserve(KEY, f"rep-{i}", T0 + i * MINUTE)
    assert await b.status(KEY, T0 + 3 * MINUTE) == spent(3, 3, allowed=False)


async def test_budgets_of_different_anomaly_keys_are_independent(redis: Redis) -> None:
    b = budget(redis)
    for i in range(3):
        await b.reserve(KEY, f"rep-{i}", T0)

    other = await b.reserve("sentry:web:KeyError", "rep-0", T0)

    assert other == spent(1, 1, allowed=True)
    assert await redis.zcard("awoooi:repair:budget:sentry:web:KeyError") == 1


async def test_the_budget_key_is_a_sorted_set_of_repair_ids_with_a_ttl(redis: Redis) -> None:
    await budget(redis).reserve(KEY, "rep-0", T0)

    assert await redis.type(BUDGET_KEY) == "zset"
    assert await redis.zrange(BUDGET_KEY, 0, -1, withscores=True) == [("rep-0", T0.timestamp())]
    ttl = await redis.ttl(BUDGET_KEY)
    assert 0 < ttl <= 2 * 86400  # the ids must outlive the day window, and then go away
    assert ttl > 86400


async def test_ids_older_than_two_days_are_dropped_by_the_next_reservation(redis: Redis) -> None:
    b = budget(redis)
    await b.reserve(KEY, "rep-old", T0)

    await b.reserve(KEY, "rep-new", T0 + 2 * DAY + MINUTE)

    assert await redis.zrange(BUDGET_KEY, 0, -1) == ["rep-new"]


async def test_a_refused_id_is_reserved_when_retried_after_the_hour_frees_up(redis: Redis) -> None:
    b = budget(redis)
    for i in range(3):
        await b.reserve(KEY, f"rep-{i}", T0)
    assert not (await b.reserve(KEY, "rep-3", T0 + MINUTE)).allowed

    assert await b.reserve(KEY, "rep-3", T0 + HOUR + MINUTE) == spent(1, 4, allowed=True)
