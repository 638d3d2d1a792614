"""Rate limits: the management API and exact token buckets on the chat path."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.conftest import GatewayFactory
from tests.fixtures.inference import Caller
from tests.fixtures.money import Money, chat_body, error_of, usage_entries, wait_until
from tests.fixtures.tenancy import Api, EndUser, Tenant, assert_error
from tests.harness import Gateway

NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def put(api: Api, path: str, key: str, body: dict) -> httpx.Response:
    return api.request("PUT", path, key=key, json=body)


def chat(client: httpx.Client, caller: Caller, **sim: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {caller.end_user_key}"}
    body = chat_body(stream=False, usage={"prompt": 10, "completion": 2}, **sim)
    return client.post("/v1/chat/completions", json=body, headers=headers)


def limit_platform(api: Api, caller: Caller, **limits: int | None) -> None:
    path = f"/v1/platforms/{caller.platform_id}/rate-limits"
    response = put(api, path, caller.platform_key, limits)
    assert response.status_code == 200, response.text


def freeze(money: Money, caller: Caller) -> None:
    money.clock.set(Tenant(caller.platform_id, caller.platform_key, "", caller.owner_id), NOON)


def test_defaults_start_unlimited(api: Api, tenant: Tenant) -> None:
    response = api.get(f"{tenant.base}/rate-limits", key=tenant.key)
    assert response.json() == {
        "requests_per_minute": None,
        "tokens_per_minute": None,
        "requests_per_day": None,
    }


def test_put_defaults_replaces_them(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/rate-limits"
    put(api, path, tenant.key, {"requests_per_minute": 60, "requests_per_day": 1000})
    response = put(api, path, tenant.key, {"tokens_per_minute": 5000})
    assert response.json() == {
        "requests_per_minute": None,
        "tokens_per_minute": 5000,
        "requests_per_day": None,
    }
    assert api.get(path, key=tenant.key).json() == response.json()


def test_override_merges_with_defaults(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    put(api, f"{tenant.base}/rate-limits", tenant.key, {"requests_per_minute": 60})
    path = f"{end_user.path}/rate-limits"
    response = put(api, path, tenant.key, {"tokens_per_minute": 250_000, "requests_per_day": None})
    assert response.json() == {
        "end_user_id": end_user.id,
        "requests_per_minute": 60,
        "tokens_per_minute": 250_000,
        "requests_per_day": None,
        "overridden": ["tokens_per_minute", "requests_per_day"],
    }
    assert api.delete(path, key=tenant.key).status_code == 204
    after = api.get(path, key=tenant.key).json()
    assert after["tokens_per_minute"] is None
    assert after["overridden"] == []


def test_invalid_limit_rejected(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/rate-limits"
    for body, param in [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"tokens_per_minute": 1.5}, "tokens_per_minute"),
        ({"requests_per_day": "5"}, "requests_per_day"),
        ({"requests_per_hour": 5}, "requests_per_hour"),
    ]:
        assert_error(put(api, path, tenant.key, body), 400, "invalid_request", param)


def test_override_of_unknown_end_user_is_404(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/end-users/eu_01jz0000000000000000000000/rate-limits"
    assert_error(api.get(path, key=tenant.key), 404, "not_found")


def test_fourth_request_in_a_minute_rejected(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    freeze(money, caller)
    limit_platform(api, caller, requests_per_minute=3)
    with gateway.client() as client:
        allowed = [chat(client, caller) for _ in range(3)]
        rejected = chat(client, caller)
        assert [response.status_code for response in allowed] == [200, 200, 200]
        assert [r.headers["x-ratelimit-remaining-requests"] for r in allowed] == ["2", "1", "0"]
        assert allowed[0].headers["x-ratelimit-limit-requests"] == "3"
        assert allowed[0].headers["x-ratelimit-reset-requests"] == "20s"
        error_of(rejected, 429, "rate_limited")
        assert rejected.headers["retry-after"] == "20"
        assert rejected.headers["x-ratelimit-remaining-requests"] == "0"
        assert rejected.headers["x-ratelimit-reset-requests"] == "1m0s"

        money.clock.advance(Tenant(caller.platform_id, "", "", ""), 19_999)
        error_of(chat(client, caller), 429, "rate_limited")
        money.clock.advance(Tenant(caller.platform_id, "", "", ""), 1)
        assert chat(client, caller).status_code == 200


def test_daily_limit_counts_exactly(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    freeze(money, caller)
    limit_platform(api, caller, requests_per_day=5)
    with gateway.client() as client:
        statuses = [chat(client, caller).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_tokens_per_minute_use_the_estimate(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    freeze(money, caller)
    limit_platform(api, caller, tokens_per_minute=1000)
    headers = {"Authorization": f"Bearer {caller.end_user_key}"}
    body = chat_body(stream=False, max_tokens=600, usage={"prompt": 10, "completion": 2})
    with gateway.client() as client:
        first = client.post("/v1/chat/completions", json=body, headers=headers)
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-tokens"] == "1000"
        taken = 1000 - int(first.headers["x-ratelimit-remaining-tokens"])
        assert taken > 600
        # Settlement gives back the tokens the estimate took beyond the 12 used.
        wait_until(
            lambda: usage_entries(money.wallet_ledger(Tenant(caller.platform_id, "", "", ""))),
            what="settlement",
        )
        second = client.post("/v1/chat/completions", json=body, headers=headers)
    assert second.status_code == 200
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1000 - 12 - taken


def test_override_applies_from_next_request(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    freeze(money, caller)
    limit_platform(api, caller, requests_per_minute=1)
    path = f"/v1/platforms/{caller.platform_id}/end-users/{caller.end_user_id}/rate-limits"
    with gateway.client() as client:
        assert chat(client, caller).status_code == 200
        error_of(chat(client, caller), 429, "rate_limited")
        put(api, path, caller.platform_key, {"requests_per_minute": None})
        assert chat(client, caller).status_code == 200
        assert "x-ratelimit-limit-requests" not in chat(client, caller).headers


def test_two_instances_share_limits_and_budgets(
    money: Money, api: Api, gateway: Gateway, gateway_factory: GatewayFactory, caller: Caller
) -> None:
    freeze(money, caller)
    limit_platform(api, caller, requests_per_minute=3)
    second = gateway_factory(name="second")
    with gateway.client() as one, second.client() as two:
        statuses = [chat(client, caller).status_code for client in (one, two, one)]
        assert statuses == [200, 200, 200]
        error_of(chat(two, caller), 429, "rate_limited")
        error_of(chat(one, caller), 429, "rate_limited")

        limit_platform(api, caller, requests_per_minute=None)
        user_path = f"/v1/platforms/{caller.platform_id}/end-users/{caller.end_user_id}/budget"
        budget = {"amount_usd": 0.0001, "period": "one_time"}
        assert api.post(user_path, key=caller.platform_key, json=budget).status_code == 201
        body = chat_body(stream=False, max_tokens=100, usage={"prompt": 10, "completion": 100})
        headers = {"Authorization": f"Bearer {caller.end_user_key}"}
        # Each call may cost up to about 0.00009 USD, so only one fits at a time.
        user = EndUser(Tenant(caller.platform_id, "", "", ""), caller.end_user_id, "", "", "")
        served = 0
        for client in (one, two, one, two):
            response = client.post("/v1/chat/completions", json=body, headers=headers)
            if response.status_code == 200:
                served += 1
                settled = lambda count=served: (  # noqa: E731
                    len(usage_entries(money.budget_ledger(user))) == count
                )
                wait_until(settled, what="settlement")
            else:
                error_of(response, 402, "budget_exhausted")
    spent = api.get(user_path, key=caller.platform_key).json()["spent_usd"]
    assert spent <= 0.0001
    assert served == 1
