"""Budgets through the management API: create, read, change, top up, debit, ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures.money import Money, ledger_sum, nanos
from tests.fixtures.tenancy import Api, EndUser, Tenant, assert_error, create_end_user

JAN_10 = datetime(2025, 1, 10, 15, 30, tzinfo=UTC)


def test_budget_create_returns_201(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, JAN_10)
    body = money.create_budget(end_user, 5.25, "monthly", low_balance_threshold_usd=1)
    assert body["end_user_id"] == end_user.id
    assert body["amount_usd"] == 5.25
    assert body["period"] == "monthly"
    assert body["spent_usd"] == 0
    assert body["remaining_usd"] == 5.25
    assert body["reserved_usd"] == 0
    assert body["is_suspended"] is False
    assert body["low_balance_threshold_usd"] == 1
    assert body["period_start"] == "2025-01-01T00:00:00.000Z"
    assert body["resets_at"] == "2025-02-01T00:00:00.000Z"
    assert body["created_at"] == "2025-01-10T15:30:00.000Z"


def test_budget_get_matches_create(money: Money, end_user: EndUser) -> None:
    created = money.create_budget(end_user, "0.123456789", "daily")
    assert money.budget(end_user) == created
    assert created["amount_usd"] == 0.123456789


def test_one_time_budget_never_resets(money: Money, end_user: EndUser) -> None:
    body = money.create_budget(end_user, 3)
    assert body["resets_at"] is None


def test_budget_absent_is_404(api: Api, end_user: EndUser) -> None:
    response = api.get(f"{end_user.path}/budget", key=end_user.tenant.key)
    assert_error(response, 404, "not_found")


def test_budget_of_unknown_end_user_is_404(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/end-users/eu_01jz0000000000000000000000/budget"
    response = api.post(path, key=tenant.key, json={"amount_usd": 1, "period": "daily"})
    assert_error(response, 404, "not_found")


def test_budget_created_twice_is_409(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    response = money.api.post(
        f"{end_user.path}/budget",
        key=end_user.tenant.key,
        json={"amount_usd": 2, "period": "daily"},
    )
    assert_error(response, 409, "conflict")
    assert money.budget(end_user)["amount_usd"] == 1


def test_default_budget_created_on_first_read(money: Money, api: Api, tenant: Tenant) -> None:
    settings = {"default_budget": {"amount_usd": 2.5, "period": "daily"}}
    assert api.patch(tenant.base, key=tenant.key, json=settings).status_code == 200
    end_user = create_end_user(api, tenant, "defaulted")
    body = money.budget(end_user)
    assert body["amount_usd"] == 2.5
    assert body["period"] == "daily"
    assert [entry["type"] for entry in money.budget_ledger(end_user)] == ["adjustment"]


def test_patch_amount_writes_adjustment(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 5)
    response = money.api.patch(
        f"{end_user.path}/budget", key=end_user.tenant.key, json={"amount_usd": 3}
    )
    assert response.status_code == 200, response.text
    assert response.json()["amount_usd"] == 3
    assert response.json()["remaining_usd"] == 3
    ledger = money.budget_ledger(end_user)
    assert [entry["type"] for entry in ledger] == ["adjustment", "adjustment"]
    assert ledger[1]["amount_nano"] == str(-nanos(2))
    assert ledger_sum(ledger) == nanos(3)


def test_patch_period_and_threshold(money: Money, end_user: EndUser) -> None:
    money.clock.set(end_user.tenant, JAN_10)
    money.create_budget(end_user, 5, low_balance_threshold_usd=1)
    response = money.api.patch(
        f"{end_user.path}/budget",
        key=end_user.tenant.key,
        json={"period": "daily", "low_balance_threshold_usd": None},
    )
    body = response.json()
    assert body["period"] == "daily"
    assert body["period_start"] == "2025-01-10T00:00:00.000Z"
    assert body["resets_at"] == "2025-01-11T00:00:00.000Z"
    assert body["low_balance_threshold_usd"] is None
    assert body["remaining_usd"] == 5


def test_suspension_emits_events(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 5)
    path = f"{end_user.path}/budget"
    for suspended in (True, True, False):
        response = money.api.patch(path, key=end_user.tenant.key, json={"is_suspended": suspended})
        assert response.json()["is_suspended"] is suspended
    types = [event["type"] for event in money.events(end_user.tenant)]
    assert types == ["budget.suspended", "budget.unsuspended"]


def test_topup_adds_to_balance(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 5)
    response = money.api.post(
        f"{end_user.path}/budget/topup",
        key=end_user.tenant.key,
        json={"amount_usd": 2.000000001, "reason": "stipend"},
    )
    assert response.status_code == 201, response.text
    transaction = response.json()["transaction"]
    assert transaction["type"] == "topup"
    assert transaction["amount_usd"] == 2.000000001
    assert transaction["balance_after_usd"] == 7.000000001
    assert transaction["reason"] == "stipend"
    assert transaction["idempotency_key"] is None
    assert response.json()["budget"]["remaining_usd"] == 7.000000001
    event = money.events(end_user.tenant)[-1]
    assert event["type"] == "budget.topped_up"
    assert event["platform_id"] == end_user.tenant.platform_id
    assert event["end_user_id"] == end_user.id
    assert event["amount_nano"] == "2000000001"
    assert event["balance_after_nano"] == "7000000001"
    assert event["id"].startswith("evt_")


def test_debit_takes_from_balance(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 5)
    response = money.api.post(
        f"{end_user.path}/budget/debit",
        key=end_user.tenant.key,
        json={"amount_usd": 1.5, "reason": "refund clawback"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["transaction"]["amount_usd"] == -1.5
    assert response.json()["budget"]["remaining_usd"] == 3.5
    assert money.events(end_user.tenant)[-1]["type"] == "budget.debited"


def test_debit_beyond_balance_is_402(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    response = money.api.post(
        f"{end_user.path}/budget/debit", key=end_user.tenant.key, json={"amount_usd": 1.000000001}
    )
    assert_error(response, 402, "budget_exhausted")
    assert money.budget(end_user)["remaining_usd"] == 1
    assert len(money.budget_ledger(end_user)) == 1


def test_low_balance_event_once_per_crossing(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 10, low_balance_threshold_usd=4)
    path = f"{end_user.path}/budget"
    for amount in (5, 2, 1):  # 5 left (above), 3 (crossed), 2 (still below)
        money.api.post(f"{path}/debit", key=end_user.tenant.key, json={"amount_usd": amount})
    money.api.post(f"{path}/topup", key=end_user.tenant.key, json={"amount_usd": 5})  # 7: re-armed
    money.api.post(f"{path}/debit", key=end_user.tenant.key, json={"amount_usd": 4})  # 3: crossed
    low = [
        event for event in money.events(end_user.tenant) if event["type"] == "budget.low_balance"
    ]
    assert [event["balance_after_nano"] for event in low] == [str(nanos(3)), str(nanos(3))]


def test_transactions_newest_first_in_pages(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    for amount in ("0.1", "0.2", "0.3"):
        money.api.post(
            f"{end_user.path}/budget/topup", key=end_user.tenant.key, json={"amount_usd": amount}
        )
    first = money.transactions(end_user, limit=3)
    assert [item["amount_usd"] for item in first["data"]] == [0.3, 0.2, 0.1]
    assert first["has_more"] is True
    second = money.transactions(end_user, limit=3, cursor=first["next_cursor"])
    assert [item["type"] for item in second["data"]] == ["adjustment"]
    assert second["has_more"] is False
    assert second["next_cursor"] is None
    assert first["data"][0]["balance_after_usd"] == 1.6


def test_transactions_reject_bad_cursor(api: Api, money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    response = api.get(
        f"{end_user.path}/budget/transactions", key=end_user.tenant.key, params={"cursor": "x"}
    )
    assert_error(response, 400, "invalid_request", "cursor")


@pytest.mark.parametrize(
    "amount",
    [0, -1, 0.0000000001, 1_000_000.000000001, 2_000_000, "abc", "NaN", "Infinity", True, None],
)
def test_topup_amount_rejected(api: Api, money: Money, end_user: EndUser, amount: Any) -> None:
    money.create_budget(end_user, 1)
    response = api.post(
        f"{end_user.path}/budget/topup", key=end_user.tenant.key, json={"amount_usd": amount}
    )
    assert_error(response, 400, "invalid_request", "amount_usd")
    assert money.budget(end_user)["remaining_usd"] == 1


def test_topup_of_largest_amount_accepted(money: Money, end_user: EndUser) -> None:
    money.create_budget(end_user, 0)
    response = money.api.post(
        f"{end_user.path}/budget/topup",
        key=end_user.tenant.key,
        json={"amount_usd": 999_999.999999999},
    )
    assert response.status_code == 201, response.text
    assert money.budget_hash(end_user)["granted_nano"] == "999999999999999"


def test_budget_body_rejects_unknown_period(api: Api, end_user: EndUser) -> None:
    response = api.post(
        f"{end_user.path}/budget",
        key=end_user.tenant.key,
        json={"amount_usd": 1, "period": "weekly"},
    )
    assert_error(response, 400, "invalid_request", "period")


def test_end_user_delete_removes_budget(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    assert api.delete(end_user.path, key=end_user.tenant.key).status_code == 204
    assert money.budget_hash(end_user) == {}
    assert money.budget_ledger(end_user) == []


def test_end_user_key_cannot_manage_budget(api: Api, end_user: EndUser) -> None:
    response = api.post(f"{end_user.path}/budget/topup", key=end_user.key, json={"amount_usd": 1})
    assert_error(response, 403, "platform_key_required")
