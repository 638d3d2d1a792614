"""Idempotency-Key on the money routes: replay, reuse, in-flight conflicts, scope."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

from control_plane import native
from tests.fixtures.money import Money, ledger_sum, nanos
from tests.fixtures.tenancy import Api, EndUser, assert_error, create_end_user
from tests.harness import Gateway


def topup(api: Api, end_user: EndUser, key: str, amount: object = 1) -> httpx.Response:
    return api.post(
        f"{end_user.path}/budget/topup",
        key=end_user.tenant.key,
        json={"amount_usd": amount, "reason": "stipend"},
        headers={"Idempotency-Key": key},
    )


def test_same_key_replays_first_response(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    first = topup(api, end_user, "stipend-2025-01")
    second = topup(api, end_user, "stipend-2025-01")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json()["transaction"]["idempotency_key"] == "stipend-2025-01"
    assert money.budget(end_user)["remaining_usd"] == 2
    assert len(money.budget_ledger(end_user)) == 2


def test_same_key_other_body_is_422(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    topup(api, end_user, "k-reused")
    response = topup(api, end_user, "k-reused", amount=2)
    assert_error(response, 422, "idempotency_key_reused", "Idempotency-Key")
    assert money.budget(end_user)["remaining_usd"] == 2


def test_same_key_other_route_is_422(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 5)
    topup(api, end_user, "k-route")
    response = api.post(
        f"{end_user.path}/budget/debit",
        key=end_user.tenant.key,
        json={"amount_usd": 1, "reason": "stipend"},
        headers={"Idempotency-Key": "k-route"},
    )
    assert_error(response, 422, "idempotency_key_reused", "Idempotency-Key")


def test_key_in_use_is_409(
    money: Money, api: Api, end_user: EndUser, redis_client: redis.Redis
) -> None:
    money.create_budget(end_user, 1)
    digest = hashlib.sha256(b"k-running").hexdigest()
    record = native.redis_key("idempotency", end_user.tenant.platform_id, digest)
    first = topup(api, end_user, "k-running")
    # Put the record back into the state of a first request that is still running.
    redis_client.hset(record, mapping={"state": "running", "token": "other"})
    response = topup(api, end_user, "k-running")
    assert_error(response, 409, "idempotency_key_in_use", "Idempotency-Key")
    assert first.status_code == 201
    assert money.budget(end_user)["remaining_usd"] == 2


def test_concurrent_topups_with_one_key_credit_once(
    money: Money, gateway: Gateway, end_user: EndUser
) -> None:
    money.create_budget(end_user, 1)

    def send(_: int) -> httpx.Response:
        with gateway.client() as client:
            return topup(Api(client), end_user, "k-concurrent", amount="0.5")

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))
    statuses = sorted({response.status_code for response in responses})
    assert set(statuses) <= {201, 409}
    created = [response for response in responses if response.status_code == 201]
    assert len({response.json()["transaction"]["id"] for response in created}) == 1
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    ledger = money.budget_ledger(end_user)
    assert [entry["type"] for entry in ledger] == ["adjustment", "topup"]
    assert ledger_sum(ledger) == nanos("1.5")


def test_keys_are_scoped_per_platform(
    money: Money, api: Api, end_user: EndUser, new_platform
) -> None:
    other = new_platform(name="Other")
    other_user = create_end_user(api, other, "other-user")
    money.create_budget(end_user, 1)
    money.create_budget(other_user, 1)
    assert topup(api, end_user, "shared-key").status_code == 201
    response = topup(api, other_user, "shared-key", amount=3)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert money.budget(other_user)["remaining_usd"] == 4


def test_invalid_request_is_not_recorded(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    rejected = topup(api, end_user, "k-fixed", amount=-1)
    assert_error(rejected, 400, "invalid_request", "amount_usd")
    retried = topup(api, end_user, "k-fixed", amount=1)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_failed_debit_replays_its_402(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)

    def debit() -> httpx.Response:
        return api.post(
            f"{end_user.path}/budget/debit",
            key=end_user.tenant.key,
            json={"amount_usd": 2},
            headers={"Idempotency-Key": "k-debit"},
        )

    first = debit()
    assert_error(first, 402, "budget_exhausted")
    topup(api, end_user, "k-more", amount=5)
    second = debit()
    assert second.status_code == 402
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert money.budget(end_user)["remaining_usd"] == 6


def test_budget_create_replays(money: Money, api: Api, end_user: EndUser) -> None:
    def create() -> httpx.Response:
        return api.post(
            f"{end_user.path}/budget",
            key=end_user.tenant.key,
            json={"amount_usd": 4, "period": "monthly"},
            headers={"Idempotency-Key": "k-create"},
        )

    first = create()
    second = create()
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"


def test_key_longer_than_255_rejected(money: Money, api: Api, end_user: EndUser) -> None:
    money.create_budget(end_user, 1)
    response = topup(api, end_user, "k" * 256)
    assert_error(response, 400, "invalid_request", "Idempotency-Key")
