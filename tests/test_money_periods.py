"""Budget periods: UTC calendar resets, top-ups that end with their period, date math."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import redis

from control_plane import native
from tests.fixtures.money import Money, ledger_sum, nanos
from tests.fixtures.tenancy import EndUser


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_monthly_budget_from_january_31(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, datetime(2025, 1, 31, 18, 45, tzinfo=UTC))
    created = money.create_budget(end_user, 10, "monthly")
    assert created["resets_at"] == "2025-02-01T00:00:00.000Z"

    money.clock.set(end_user.tenant, datetime(2025, 2, 1, 0, 0, tzinfo=UTC))
    february = money.budget(end_user)
    assert february["period_start"] == "2025-02-01T00:00:00.000Z"
    assert february["resets_at"] == "2025-03-01T00:00:00.000Z"


def test_daily_reset_is_exactly_at_midnight(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, datetime(2025, 3, 9, 12, tzinfo=UTC))
    money.create_budget(end_user, 2, "daily")
    money.api.post(f"{end_user.path}/budget/debit", key=end_user.tenant.key, json={"amount_usd": 1})

    money.clock.set(end_user.tenant, ms(datetime(2025, 3, 10, tzinfo=UTC)) - 1)
    assert money.budget(end_user)["remaining_usd"] == 1
    money.clock.advance(end_user.tenant, 1)
    after = money.budget(end_user)
    assert after["remaining_usd"] == 2
    assert after["period_start"] == "2025-03-10T00:00:00.000Z"
    assert after["resets_at"] == "2025-03-11T00:00:00.000Z"


def test_topup_ends_with_its_period(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, datetime(2025, 4, 30, 22, tzinfo=UTC))
    money.create_budget(end_user, 5, "monthly")
    money.api.post(f"{end_user.path}/budget/topup", key=end_user.tenant.key, json={"amount_usd": 3})
    assert money.budget(end_user)["remaining_usd"] == 8

    money.clock.set(end_user.tenant, datetime(2025, 5, 1, 0, 0, 1, tzinfo=UTC))
    assert money.budget(end_user)["remaining_usd"] == 5
    ledger = money.budget_ledger(end_user)
    assert [entry["type"] for entry in ledger] == ["adjustment", "topup", "reset"]
    assert ledger[-1]["amount_nano"] == str(-nanos(3))
    assert ledger[-1]["balance_after_nano"] == str(nanos(5))
    assert ledger_sum(ledger) == nanos(5)


def test_missed_periods_collapse_into_one_reset(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, datetime(2025, 1, 1, tzinfo=UTC))
    money.create_budget(end_user, 1, "daily")
    money.api.post(f"{end_user.path}/budget/debit", key=end_user.tenant.key, json={"amount_usd": 1})
    money.clock.set(end_user.tenant, datetime(2025, 6, 15, 9, tzinfo=UTC))
    body = money.budget(end_user)
    assert body["period_start"] == "2025-06-15T00:00:00.000Z"
    types = [entry["type"] for entry in money.budget_ledger(end_user)]
    assert types == ["adjustment", "debit", "reset"]


def test_monthly_resets_across_a_year(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, datetime(2023, 12, 31, 23, 59, tzinfo=UTC))
    money.create_budget(end_user, 1, "monthly")
    expected = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(14):
        assert money.budget(end_user)["resets_at"] == expected.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        money.clock.set(end_user.tenant, expected)
        expected = (expected + timedelta(days=32)).replace(day=1)


def next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def test_period_math_matches_python(redis_client: redis.Redis) -> None:
    probe = native.lua_script("idempotency_abandon").split("\nif redis.call")[0] + (
        "\nlocal ds, dr = period_bounds('daily', tonumber(ARGV[1]))"
        "\nlocal ms, mr = period_bounds('monthly', tonumber(ARGV[1]))"
        "\nreturn {int(ds), int(dr), int(ms), int(mr)}"
    )
    script = redis_client.register_script(probe)
    rng = random.Random(20250131)
    moments = [datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), datetime(2100, 2, 28, tzinfo=UTC)]
    moments += [
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=rng.randrange(0, 2**42))
        for _ in range(300)
    ]
    for moment in moments:
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        expected = [ms(day), ms(day + timedelta(days=1)), ms(month), ms(next_month(moment))]
        assert [int(value) for value in script(args=[ms(moment)])] == expected, moment
