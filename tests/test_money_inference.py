"""Money on the chat path: admission, settlement, rejections and ledgers through the gateway."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from control_plane import native
from tests.fixtures.inference import Caller, TenancyWriter
from tests.fixtures.money import (
    Money,
    chat_body,
    error_of,
    ledger_sum,
    nanos,
    usage_entries,
    wait_until,
)
from tests.fixtures.simulator import Simulator
from tests.fixtures.tenancy import Api, EndUser, Tenant
from tests.harness import Gateway

# gpt-4o-mini in nano-USD per million tokens.
INPUT, CACHED, OUTPUT = 150_000_000, 75_000_000, 600_000_000


def as_end_user(caller: Caller) -> EndUser:
    tenant = Tenant(caller.platform_id, caller.platform_key, "", caller.owner_id)
    return EndUser(tenant, caller.end_user_id, "", caller.end_user_key, caller.end_user_key_id)


def chat(client: httpx.Client, caller: Caller, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {caller.end_user_key}"}
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    response.read()
    return response


def price(prompt: int, completion: int, cached: int = 0) -> int:
    """Hand-computed cost in nano-USD, rounded up."""
    scaled = (prompt - cached) * INPUT + cached * CACHED + completion * OUTPUT
    return -(-scaled // 1_000_000)


def test_call_debits_budget_and_wallet(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    usage = {"prompt": 1000, "completion": 500, "cached": 400}
    with gateway.client() as client:
        response = chat(client, caller, chat_body(stream=False, usage=usage))
    assert response.status_code == 200, response.text
    cost = price(1000, 500, cached=400)
    assert cost == 90_000 + 30_000 + 300_000

    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert entries[0]["amount_nano"] == str(-cost)
    assert entries[0]["request_id"] == response.headers["x-request-id"]
    assert entries[0]["reason"] == "gpt-4o-mini"
    wallet = usage_entries(money.wallet_ledger(user.tenant))
    assert wallet[0]["amount_nano"] == str(-cost)
    budget = money.budget(user)
    assert budget["spent_usd"] == cost / 1e9
    assert budget["reserved_usd"] == 0
    assert money.wallet_hash(user.tenant)["reserved_nano"] == "0"


def test_markup_applies_to_end_user_only(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    user = as_end_user(caller)
    api.patch(user.tenant.base, key=caller.platform_key, json={"markup_percent": 12.5})
    money.create_budget(user, 1)
    with gateway.client() as client:
        chat(client, caller, chat_body(stream=False, usage={"prompt": 100, "completion": 10}))
    cost = price(100, 10)  # 15_000 + 6_000
    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert entries[0]["amount_nano"] == str(-(cost + cost // 8))
    assert usage_entries(money.wallet_ledger(user.tenant))[0]["amount_nano"] == str(-cost)


def test_stream_without_usage_request_is_charged(
    money: Money, gateway: Gateway, caller: Caller
) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    body = chat_body(text="one two three", usage={"prompt": 50, "completion": 3})
    with gateway.client() as client:
        response = chat(client, caller, body)
    assert response.status_code == 200
    chunks = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: {")
    ]
    assert [chunk for chunk in chunks if chunk.get("usage")] == []
    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert entries[0]["amount_nano"] == str(-price(50, 3))


def test_call_that_failed_upstream_costs_nothing(
    money: Money, gateway: Gateway, caller: Caller, simulator: Simulator
) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    with gateway.client() as client:
        response = chat(client, caller, chat_body(stream=False, status=500))
        assert response.status_code >= 500
        ok = chat(client, caller, chat_body(stream=False, usage={"prompt": 10, "completion": 1}))
    assert ok.status_code == 200
    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert [entry["request_id"] for entry in entries] == [ok.headers["x-request-id"]]
    wait_until(lambda: money.budget_hash(user)["reserved_nano"] == "0", what="holds released")


def test_five_streams_share_budget_for_two(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, "0.024")
    # 16,000 output tokens at 0.60 USD per million make each call's maximum cost just over
    # 0.0096 USD, so the budget covers two reservations and not three.
    body = chat_body(max_tokens=16_000, latency_ms=1500, usage={"prompt": 20, "completion": 5})

    def send(_: int) -> httpx.Response:
        with gateway.client() as client:
            return chat(client, caller, body)

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(send, range(5)))
    served = [response for response in responses if response.status_code == 200]
    rejected = [response for response in responses if response.status_code != 200]
    assert len(served) == 2
    for response in rejected:
        error_of(response, 402, "budget_exhausted")
    wait_until(lambda: len(usage_entries(money.budget_ledger(user))) == 2, what="settlements")
    budget = money.budget(user)
    assert budget["spent_usd"] == 2 * price(20, 5) / 1e9
    assert budget["spent_usd"] <= 0.024


def test_choices_multiply_maximum_cost(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, "0.015")
    # One choice of 16,000 tokens may cost 0.0096 USD, two may cost 0.0192 USD.
    body = chat_body(stream=False, max_tokens=16_000, usage={"prompt": 10, "completion": 5})
    with gateway.client() as client:
        rejected = chat(client, caller, {**body, "n": 2})
        served = chat(client, caller, {**body, "n": 1})
        invalid = chat(client, caller, {**body, "n": 0})
    error_of(rejected, 402, "budget_exhausted")
    assert served.status_code == 200, served.text
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["error"]["param"] == "n"


def test_suspended_budget_rejects(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    money.api.patch(f"{user.path}/budget", key=caller.platform_key, json={"is_suspended": True})
    with gateway.client() as client:
        response = chat(client, caller, chat_body(stream=False))
    error_of(response, 402, "budget_suspended")


def test_empty_wallet_rejects(money: Money, gateway: Gateway, caller: Caller) -> None:
    # Ten nano-USD cannot cover the maximum cost of any call.
    money.redis.hset(native.redis_key("wallet", caller.platform_id), "balance_nano", 10)
    with gateway.client() as client:
        response = chat(client, caller, chat_body(stream=False))
    error_of(response, 402, "wallet_insufficient")
    assert money.wallet_hash(as_end_user(caller).tenant).get("reserved_nano", "0") == "0"


def test_user_without_budget_is_unlimited(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    with gateway.client() as client:
        response = chat(
            client, caller, chat_body(stream=False, usage={"prompt": 10, "completion": 1})
        )
    assert response.status_code == 200
    wait_until(lambda: usage_entries(money.wallet_ledger(user.tenant)), what="wallet usage")
    assert money.budget_hash(user) == {}


def test_default_budget_applies_on_first_call(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    user = as_end_user(caller)
    settings = {"default_budget": {"amount_usd": 0.000001, "period": "daily"}}
    api.patch(user.tenant.base, key=caller.platform_key, json=settings)
    with gateway.client() as client:
        response = chat(client, caller, chat_body(stream=False))
    error_of(response, 402, "budget_exhausted")
    assert money.budget_hash(user)["amount_nano"] == "1000"


def test_disconnect_settles_streamed_text(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    body = chat_body(text="word " * 400, tokens_per_second=200)
    headers = {"Authorization": f"Bearer {caller.end_user_key}"}
    with (
        gateway.client() as client,
        client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response,
    ):
        for _ in response.iter_bytes():
            break
    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert int(entries[0]["amount_nano"]) < 0
    assert int(entries[0]["amount_nano"]) > -price(400, 400)
    wait_until(lambda: money.budget_hash(user)["reserved_nano"] == "0", what="holds released")


def test_concurrent_streams_never_overspend(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    usage = {"prompt": 20, "completion": 1000}
    body = chat_body(max_tokens=1000, usage=usage, ttft_ms=20)
    cost = price(20, 1000)
    money.create_budget(user, str(50 * (cost + 200) / 1e9))
    limit = nanos(money.budget(user)["amount_usd"])

    async def run() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {caller.end_user_key}"}
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=gateway.url, limits=limits, timeout=60) as client:

            async def one() -> httpx.Response:
                return await client.post("/v1/chat/completions", json=body, headers=headers)

            return await asyncio.gather(*(one() for _ in range(200)))

    responses = asyncio.run(run())
    served = [response for response in responses if response.status_code == 200]
    for response in responses:
        if response.status_code != 200:
            error_of(response, 402, "budget_exhausted")
    assert 1 <= len(served) <= 50
    wait_until(
        lambda: len(usage_entries(money.budget_ledger(user))) == len(served), what="settlements"
    )
    hashed = money.budget_hash(user)
    assert int(hashed["spent_nano"]) == len(served) * cost
    assert int(hashed["spent_nano"]) <= limit
    assert ledger_sum(money.budget_ledger(user)) == limit - len(served) * cost


def test_ledgers_sum_after_mixed_run(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 5)
    path = f"{user.path}/budget"

    def work(index: int) -> int:
        with gateway.client() as client:
            if index % 3 == 0:
                usage = {"prompt": 10 + index, "completion": index}
                return chat(client, caller, chat_body(usage=usage)).status_code
            kind = "topup" if index % 3 == 1 else "debit"
            headers = {"Authorization": f"Bearer {caller.platform_key}"}
            amount = f"0.{index:03d}000007"
            return client.post(
                f"{path}/{kind}", json={"amount_usd": amount}, headers=headers
            ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(work, range(60)))
    assert set(statuses) <= {200, 201}
    wait_until(lambda: len(usage_entries(money.budget_ledger(user))) == 20, what="settlements")
    hashed = money.budget_hash(user)
    balance = int(hashed["granted_nano"]) - int(hashed["spent_nano"])
    assert ledger_sum(money.budget_ledger(user)) == balance
    wallet = money.wallet_hash(user.tenant)
    assert ledger_sum(money.wallet_ledger(user.tenant)) == int(wallet["balance_nano"])
    assert hashed["reserved_nano"] == "0"


@pytest.mark.parametrize(
    ("provider", "model", "usage", "expected"),
    [
        # OpenAI: cached prompt tokens at the cached price.
        ("openai", "gpt-4o-mini", {"prompt": 2000, "cached": 1000, "completion": 500},
         1000 * 150 + 1000 * 75 + 500 * 600),
        # Anthropic: cache reads at the cached price, cache writes at 1.25 times input.
        ("anthropic", "claude-haiku-4-5",
         {"prompt": 1300, "cached": 1000, "cache_write": 200, "completion": 50},
         100 * 1000 + 1000 * 100 + 200 * 1250 + 50 * 5000),
        # Gemini: thinking tokens are output tokens.
        ("google", "gemini-2.5-flash", {"prompt": 400, "completion": 120, "reasoning": 100},
         400 * 300 + 120 * 2500),
        ("xai", "grok-3-mini", {"prompt": 1000, "cached": 200, "completion": 10},
         800 * 300 + 200 * 75 + 10 * 500),
    ],
)  # fmt: skip
def test_cost_matches_hand_computation(  # noqa: PLR0917 - fixtures and parameters
    money: Money,
    gateway: Gateway,
    tenancy: TenancyWriter,
    simulator: Simulator,
    provider: str,
    model: str,
    usage: dict[str, int],
    expected: int,
) -> None:
    # Prices above are in nano-USD per thousand tokens, so the sums are in nano-USD.
    caller = tenancy.caller(simulator, providers=(provider,))
    body = chat_body(stream=False, usage=usage)
    body["model"] = model
    with gateway.client() as client:
        response = chat(client, caller, body)
    assert response.status_code == 200, response.text
    tenant = as_end_user(caller).tenant
    entries = wait_until(lambda: usage_entries(money.wallet_ledger(tenant)), what="usage entry")
    assert entries[0]["amount_nano"] == str(-expected)


def test_native_cost_matches_hand_computation() -> None:
    cost = native.cost_nanos(
        input=INPUT, cached_input=CACHED, output=OUTPUT,
        prompt_tokens=2000, cached_tokens=1000, completion_tokens=500,
    )  # fmt: skip
    assert cost == 525_000
    charge = native.charge_nanos(
        input=1, cached_input=1, output=1, prompt_tokens=1, completion_tokens=0, markup_bp=5000
    )
    assert charge == 1
    assert native.cost_nanos(
        input=1_000, cached_input=100, output=5_000, cache_write=1_250,
        prompt_tokens=1_000_000, cache_write_tokens=1_000_000, completion_tokens=0,
    ) == 1_250  # fmt: skip


def test_monthly_budget_call_in_new_month(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.clock.set(user.tenant, datetime(2025, 1, 31, 23, 0, tzinfo=UTC))
    money.create_budget(user, "0.001", "monthly")
    with gateway.client() as client:
        chat(client, caller, chat_body(stream=False, usage={"prompt": 1000, "completion": 1000}))
        wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
        money.clock.set(user.tenant, datetime(2025, 2, 1, tzinfo=UTC))
        response = chat(
            client, caller, chat_body(stream=False, usage={"prompt": 1, "completion": 1})
        )
    assert response.status_code == 200
    types = [entry["type"] for entry in money.budget_ledger(user)]
    assert types[:3] == ["adjustment", "usage", "reset"]
