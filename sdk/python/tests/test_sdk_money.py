"""Budgets, the wallet and rate limits through the SDK, against the gateway."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from assistiv import (
    AssistivError,
    AssistivPaymentRequiredError,
    AssistivRateLimitError,
    Budget,
    BudgetChange,
    EndUserRateLimits,
    RateLimits,
    Transaction,
    Wallet,
)

from conftest import Flavour
from tests.fixtures.inference import Caller
from tests.fixtures.money import wait_until

HELLO = [{"role": "user", "content": "hello"}]


def test_budget_create_and_get(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    created = flavour.run(
        client.budgets.create(
            caller.end_user_id,
            amount_usd=Decimal("5.25"),
            period="monthly",
            low_balance_threshold_usd=1,
        )
    )
    assert isinstance(created, Budget)
    assert created.end_user_id == caller.end_user_id
    assert created.amount_usd == Decimal("5.25")
    assert created.period == "monthly"
    assert created.remaining_usd == Decimal("5.25")
    assert created.spent_usd == 0
    assert created.low_balance_threshold_usd == 1
    assert created.is_suspended is False
    assert isinstance(created.resets_at, datetime)

    fetched = flavour.run(client.budgets.get(caller.end_user_id))
    assert fetched.amount_usd == Decimal("5.25")
    assert fetched.created_at == created.created_at


def test_budget_create_twice_conflicts(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="daily"))
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="daily"))
    assert caught.value.status == 409
    assert caught.value.code == "conflict"


def test_budget_update_changes_given_fields(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=2, period="one_time"))
    updated = flavour.run(
        client.budgets.update(caller.end_user_id, amount_usd=Decimal("3.5"), period="daily")
    )
    assert updated.amount_usd == Decimal("3.5")
    assert updated.period == "daily"
    assert updated.remaining_usd == Decimal("3.5")
    assert updated.low_balance_threshold_usd is None
    with_threshold = flavour.run(
        client.budgets.update(caller.end_user_id, low_balance_threshold_usd=Decimal("0.5"))
    )
    assert with_threshold.low_balance_threshold_usd == Decimal("0.5")
    assert with_threshold.amount_usd == Decimal("3.5")
    cleared = flavour.run(client.budgets.update(caller.end_user_id, low_balance_threshold_usd=None))
    assert cleared.low_balance_threshold_usd is None


def test_suspended_budget_rejects_chat(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key, max_retries=0)
    flavour.run(platform.budgets.create(caller.end_user_id, amount_usd=5, period="monthly"))
    suspended = flavour.run(platform.budgets.update(caller.end_user_id, is_suspended=True))
    assert suspended.is_suspended is True
    with pytest.raises(AssistivPaymentRequiredError) as caught:
        flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))
    assert caught.value.status == 402
    assert caught.value.code == "budget_suspended"

    flavour.run(platform.budgets.update(caller.end_user_id, is_suspended=False))
    completion = flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))
    assert completion.choices[0].message.content.startswith("Simulated reply ")


def test_exhausted_budget_rejects_chat(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key, max_retries=0)
    flavour.run(
        platform.budgets.create(caller.end_user_id, amount_usd=Decimal("0.000001"), period="daily")
    )
    with pytest.raises(AssistivPaymentRequiredError) as caught:
        flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))
    assert caught.value.code == "budget_exhausted"


def test_topup_and_debit_move_money(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=5, period="monthly"))

    topped = flavour.run(
        client.budgets.topup(caller.end_user_id, amount_usd=Decimal("2.5"), reason="stipend")
    )
    assert isinstance(topped, BudgetChange)
    assert topped.transaction.type == "topup"
    assert topped.transaction.amount_usd == Decimal("2.5")
    assert topped.transaction.balance_after_usd == Decimal("7.5")
    assert topped.transaction.reason == "stipend"
    assert topped.budget.remaining_usd == Decimal("7.5")

    debited = flavour.run(
        client.budgets.debit(caller.end_user_id, amount_usd=Decimal("0.000000001"))
    )
    assert debited.transaction.type == "debit"
    assert debited.transaction.amount_usd == Decimal("-0.000000001")
    assert debited.budget.remaining_usd == Decimal("7.499999999")


def test_topup_with_same_key_applied_once(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="monthly"))
    key = f"stipend-{caller.end_user_id}"
    first = flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=5, idempotency_key=key))
    again = flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=5, idempotency_key=key))
    assert again.transaction.id == first.transaction.id
    assert first.transaction.idempotency_key == key
    assert flavour.run(client.budgets.get(caller.end_user_id)).remaining_usd == 6

    with pytest.raises(AssistivError) as caught:
        flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=7, idempotency_key=key))
    assert caught.value.status == 422
    assert caught.value.code == "idempotency_key_reused"


def test_topups_without_key_each_applied(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="monthly"))
    first = flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=1))
    second = flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=1))
    assert first.transaction.id != second.transaction.id
    assert first.transaction.idempotency_key != second.transaction.idempotency_key
    assert second.budget.remaining_usd == 3


def test_debit_beyond_balance_raises_payment_required(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="monthly"))
    with pytest.raises(AssistivPaymentRequiredError) as caught:
        flavour.run(client.budgets.debit(caller.end_user_id, amount_usd=2))
    assert caught.value.status == 402
    assert caught.value.code == "budget_exhausted"
    assert flavour.run(client.budgets.get(caller.end_user_id)).remaining_usd == 1


def test_transactions_follow_cursors_newest_first(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.budgets.create(caller.end_user_id, amount_usd=1, period="monthly"))
    for amount in (2, 3, 4):
        flavour.run(client.budgets.topup(caller.end_user_id, amount_usd=amount))
    entries = flavour.items(client.budgets.transactions(caller.end_user_id, limit=2))
    assert all(isinstance(entry, Transaction) for entry in entries)
    assert [entry.type for entry in entries] == ["topup", "topup", "topup", "adjustment"]
    assert [entry.amount_usd for entry in entries] == [4, 3, 2, 1]
    assert sum(entry.amount_usd for entry in entries) == 10
    pages = flavour.pages(client.budgets.transactions(caller.end_user_id, limit=2))
    assert [len(page.data) for page in pages] == [2, 2]


def test_wallet_get_and_transactions(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    wallet = flavour.run(client.wallet.get())
    assert isinstance(wallet, Wallet)
    assert wallet.platform_id == caller.platform_id
    assert wallet.balance_usd == 1000
    assert wallet.reserved_usd == 0
    assert wallet.available_usd == 1000
    entries = flavour.items(client.wallet.transactions())
    assert [entry.type for entry in entries] == ["topup"]
    assert entries[0].amount_usd == 1000


def test_wallet_debited_by_chat(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key)
    flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))

    def settled() -> list[Transaction]:
        entries = flavour.items(platform.wallet.transactions())
        return [entry for entry in entries if entry.type == "usage"]

    usage = wait_until(settled, what="the call's settlement")
    assert len(usage) == 1
    assert usage[0].amount_usd < 0
    assert flavour.run(platform.wallet.get()).balance_usd == 1000 + usage[0].amount_usd


def test_rate_limit_defaults(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    defaults = flavour.run(client.rate_limits.get_defaults())
    assert isinstance(defaults, RateLimits)
    assert (defaults.requests_per_minute, defaults.tokens_per_minute) == (None, None)
    assert defaults.requests_per_day is None

    changed = flavour.run(
        client.rate_limits.set_defaults(requests_per_minute=100, requests_per_day=5000)
    )
    assert changed.requests_per_minute == 100
    assert changed.tokens_per_minute is None
    assert changed.requests_per_day == 5000
    replaced = flavour.run(client.rate_limits.set_defaults(tokens_per_minute=250_000))
    assert replaced.requests_per_minute is None
    assert replaced.tokens_per_minute == 250_000


def test_rate_limit_override_set_get_clear(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    flavour.run(client.rate_limits.set_defaults(requests_per_minute=100, tokens_per_minute=1000))

    fresh = flavour.run(client.rate_limits.get(caller.end_user_id))
    assert isinstance(fresh, EndUserRateLimits)
    assert fresh.end_user_id == caller.end_user_id
    assert fresh.overridden == []
    assert fresh.requests_per_minute == 100

    overridden = flavour.run(
        client.rate_limits.set(caller.end_user_id, requests_per_minute=600, tokens_per_minute=None)
    )
    assert overridden.overridden == ["requests_per_minute", "tokens_per_minute"]
    assert overridden.requests_per_minute == 600
    assert overridden.tokens_per_minute is None
    assert overridden.requests_per_day is None

    flavour.run(client.rate_limits.clear(caller.end_user_id))
    cleared = flavour.run(client.rate_limits.get(caller.end_user_id))
    assert cleared.overridden == []
    assert cleared.requests_per_minute == 100
    assert cleared.tokens_per_minute == 1000


def test_rate_limited_chat_raises_with_retry_after(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key, max_retries=0)
    flavour.run(platform.rate_limits.set(caller.end_user_id, requests_per_minute=1))
    flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))
    with pytest.raises(AssistivRateLimitError) as caught:
        flavour.run(user.chat.completions.create(model="gpt-4o-mini", messages=HELLO))
    assert caught.value.status == 429
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
