"""Responses are admitted, charged and rate-limited exactly as chat completions are."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, sdk_client
from tests.fixtures.money import Money, chat_body, usage_entries, wait_until
from tests.fixtures.responses import new_tag
from tests.fixtures.tenancy import Api, EndUser, Tenant
from tests.harness import Gateway

# gpt-4o-mini in nano-USD per million tokens.
INPUT, CACHED, OUTPUT = 150_000_000, 75_000_000, 600_000_000
USAGE = {"prompt": 1000, "completion": 500, "cached": 400}


def as_end_user(caller: Caller) -> EndUser:
    tenant = Tenant(caller.platform_id, caller.platform_key, "", caller.owner_id)
    return EndUser(tenant, caller.end_user_id, "", caller.end_user_key, caller.end_user_key_id)


def price(prompt: int, completion: int, cached: int = 0) -> int:
    """Hand-computed cost in nano-USD, rounded up."""
    scaled = (prompt - cached) * INPUT + cached * CACHED + completion * OUTPUT
    return -(-scaled // 1_000_000)


def scripted_input(**sim: object) -> str:
    """A prompt padded to the scripted prompt tokens, as a real provider would need it."""
    usage = sim.get("usage", {})
    padding = "x" * usage.get("prompt", 0) if isinstance(usage, dict) else ""
    return f"hello {padding}\n#sim " + json.dumps({"tag": new_tag(), **sim})


def test_stored_response_charged_like_chat(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    with sdk_client(gateway, caller.end_user_key) as client:
        raw = client.responses.with_raw_response.create(
            model="gpt-4o-mini", input=scripted_input(usage=USAGE), max_output_tokens=500
        )
        response = raw.parse()
        assert response.store is True
        assert client.responses.retrieve(response.id).id == response.id
    with gateway.client() as http:
        chat = http.post(
            "/v1/chat/completions",
            json=chat_body(stream=False, max_tokens=500, usage=USAGE),
            headers={"Authorization": f"Bearer {caller.end_user_key}"},
        )
    assert chat.status_code == 200

    cost = price(1000, 500, cached=400)

    def both_settled() -> list[dict[str, str]] | None:
        found = usage_entries(money.budget_ledger(user))
        return found if len(found) == 2 else None

    entries = wait_until(both_settled, what="two usage entries")
    by_request = {entry["request_id"]: entry for entry in entries}
    charged = by_request[raw.headers["x-request-id"]]
    assert charged["amount_nano"] == str(-cost)
    assert charged["reason"] == "gpt-4o-mini"
    assert by_request[chat.headers["x-request-id"]]["amount_nano"] == str(-cost)
    wallet = usage_entries(money.wallet_ledger(user.tenant))
    assert sorted(entry["amount_nano"] for entry in wallet) == [str(-cost), str(-cost)]
    budget = money.budget(user)
    assert budget["spent_usd"] == 2 * cost / 1e9
    assert budget["reserved_usd"] == 0


def test_streamed_response_charged(money: Money, gateway: Gateway, caller: Caller) -> None:
    user = as_end_user(caller)
    money.create_budget(user, 1)
    usage = {"prompt": 200, "completion": 3}
    with sdk_client(gateway, caller.end_user_key) as client:
        events = list(
            client.responses.create(
                model="gpt-4o-mini",
                input=scripted_input(text="one two three", usage=usage),
                max_output_tokens=100,
                stream=True,
            )
        )
    assert events[-1].type == "response.completed"
    entries = wait_until(lambda: usage_entries(money.budget_ledger(user)), what="usage entry")
    assert [entry["amount_nano"] for entry in entries] == [str(-price(200, 3))]
    assert money.budget(user)["reserved_usd"] == 0


def test_exhausted_budget_rejects_response(money: Money, gateway: Gateway, caller: Caller) -> None:
    money.create_budget(as_end_user(caller), "0.000001")
    with (
        sdk_client(gateway, caller.end_user_key) as client,
        pytest.raises(openai.APIStatusError) as raised,
    ):
        client.responses.create(model="gpt-4o-mini", input=scripted_input(text="x"))
    assert raised.value.status_code == 402
    assert raised.value.code == "budget_exhausted"


def test_rate_limit_counts_responses(
    money: Money, api: Api, gateway: Gateway, caller: Caller
) -> None:
    tenant = Tenant(caller.platform_id, caller.platform_key, "", caller.owner_id)
    money.clock.set(tenant, datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    limits = api.request(
        "PUT",
        f"/v1/platforms/{caller.platform_id}/rate-limits",
        key=caller.platform_key,
        json={"requests_per_minute": 2},
    )
    assert limits.status_code == 200, limits.text
    body = {"model": "gpt-4o-mini", "input": scripted_input(text="x"), "max_output_tokens": 16}
    headers = {"Authorization": f"Bearer {caller.end_user_key}"}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        statuses = [http.post("/v1/responses", json=body, headers=headers) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert statuses[0].headers["x-ratelimit-limit-requests"] == "2"
    assert statuses[2].json()["error"]["code"] == "rate_limited"
