"""What the data plane logs for each inference call: served, streamed, rejected, failed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import openai
import pytest

from control_plane import native
from tests.fixtures.inference import Caller, TenancyWriter, sdk_client
from tests.fixtures.logs import Logs
from tests.fixtures.money import Money
from tests.fixtures.simulator import directive
from tests.fixtures.tenancy import Api, Tenant
from tests.harness import Gateway

# gpt-4o-mini in the shipped catalog: nano-USD per million tokens.
INPUT_NANOS = 150_000_000
CACHED_INPUT_NANOS = 75_000_000
OUTPUT_NANOS = 600_000_000


def ask(prompt: str, **fields: object) -> list[dict[str, str]]:
    content = f"{prompt}\n{directive(**fields)}" if fields else prompt
    return [{"role": "user", "content": content}]


def scaled(prompt: int, cached: int, completion: int) -> int:
    """Nano-USD times a million: the exact price before rounding."""
    return (prompt - cached) * INPUT_NANOS + cached * CACHED_INPUT_NANOS + completion * OUTPUT_NANOS


def cost_usd(prompt: int, cached: int, completion: int) -> float:
    return -(-scaled(prompt, cached, completion) // 1_000_000) / 1_000_000_000


def charged_usd(prompt: int, cached: int, completion: int, markup_bp: int) -> float:
    exact = scaled(prompt, cached, completion) * (10_000 + markup_bp)
    return -(-exact // (1_000_000 * 10_000)) / 1_000_000_000


def chat(gateway: Gateway, key: str, body: dict[str, object]) -> httpx.Response:
    with gateway.client() as client:
        return client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        )


def test_served_call_entry_matches_response(
    llm: openai.OpenAI, caller: Caller, logs: Logs, api: Api
) -> None:
    markup = {"markup_percent": 12.5}
    api.patch(f"/v1/platforms/{caller.platform_id}", key=caller.platform_key, json=markup)
    raw = llm.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=ask(
            "hi", text="Hello there", usage={"prompt": 1200, "cached": 200, "completion": 30}
        ),
    )
    request_id = raw.headers["x-request-id"]
    entry = logs.wait_for(caller, request_id)
    assert entry["request_id"] == request_id
    assert entry["platform_id"] == caller.platform_id
    assert entry["end_user_id"] == caller.end_user_id
    assert entry["key_id"] == caller.end_user_key_id
    assert entry["endpoint"] == "/v1/chat/completions"
    assert entry["model"] == "gpt-4o-mini"
    assert entry["provider"] == "openai"
    assert entry["stream"] is False
    assert entry["status_code"] == 200
    assert entry["error_code"] is None
    assert entry["input_tokens"] == 1200
    assert entry["cached_input_tokens"] == 200
    assert entry["output_tokens"] == 30
    assert entry["reasoning_tokens"] == 0
    assert entry["usage_estimated"] is False
    assert entry["cost_usd"] == cost_usd(1200, 200, 30)
    assert entry["charged_usd"] == charged_usd(1200, 200, 30, 1250)
    assert entry["time_to_first_token_ms"] is None
    assert entry["upstream_latency_ms"] is not None
    assert entry["latency_ms"] >= entry["upstream_latency_ms"]
    assert entry["app"] is None
    assert entry["tool"] is None


def test_streamed_call_entry_has_tokens_cost_and_ttft(
    llm: openai.OpenAI, caller: Caller, logs: Logs
) -> None:
    with llm.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini",
        messages=ask(
            "count",
            text="one two three",
            reasoning="think first",
            ttft_ms=60,
            usage={"prompt": 40, "completion": 9, "reasoning": 2},
        ),
        stream=True,
    ) as response:
        request_id = response.headers["x-request-id"]
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    entry = logs.wait_for(caller, request_id)
    assert entry["stream"] is True
    assert entry["status_code"] == 200
    assert entry["error_code"] is None
    assert entry["input_tokens"] == 40
    assert entry["output_tokens"] == 9
    assert entry["reasoning_tokens"] == 2
    assert entry["usage_estimated"] is False
    assert entry["cost_usd"] == cost_usd(40, 0, 9)
    assert entry["charged_usd"] == cost_usd(40, 0, 9)
    # The simulator delays the first token by 60 ms.
    assert entry["time_to_first_token_ms"] >= 60
    assert entry["latency_ms"] >= entry["time_to_first_token_ms"]


def test_stream_failing_midway_logged_with_its_code(
    llm: openai.OpenAI, caller: Caller, logs: Logs
) -> None:
    with llm.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini",
        messages=ask("x", text="a b c d e", error_after=3, error={"message": "boom"}),
        stream=True,
    ) as response:
        request_id = response.headers["x-request-id"]
        list(response.iter_lines())
    entry = logs.wait_for(caller, request_id)
    assert entry["status_code"] == 200
    assert entry["error_code"] == "upstream_error"


def test_upstream_failure_logged(gateway: Gateway, caller: Caller, logs: Logs) -> None:
    response = chat(
        gateway,
        caller.end_user_key,
        {"model": "gpt-4o-mini", "messages": ask("x", status=500)},
    )
    assert response.status_code == 502
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["status_code"] == 502
    assert entry["error_code"] == "upstream_error"
    assert entry["model"] == "gpt-4o-mini"
    assert entry["provider"] == "openai"
    assert entry["cost_usd"] == 0
    assert entry["upstream_latency_ms"] is not None


def test_invalid_request_logged(gateway: Gateway, caller: Caller, logs: Logs) -> None:
    response = chat(gateway, caller.end_user_key, {"model": "gpt-4o-mini"})
    assert response.status_code == 400
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["status_code"] == 400
    assert entry["error_code"] == "invalid_request"
    assert entry["end_user_id"] == caller.end_user_id
    assert entry["model"] is None
    assert entry["provider"] is None
    assert entry["input_tokens"] == 0
    assert entry["upstream_latency_ms"] is None


def test_unknown_model_logged_with_requested_name(
    gateway: Gateway, caller: Caller, logs: Logs
) -> None:
    response = chat(
        gateway,
        caller.end_user_key,
        {"model": "no-such-model", "messages": ask("x"), "stream": True},
    )
    assert response.status_code == 404
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["error_code"] == "model_not_found"
    assert entry["model"] == "no-such-model"
    assert entry["stream"] is True


def test_platform_key_call_logged_without_end_user(
    gateway: Gateway, caller: Caller, logs: Logs
) -> None:
    response = chat(gateway, caller.platform_key, {"model": "gpt-4o-mini", "messages": ask("x")})
    assert response.status_code == 403
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["error_code"] == "end_user_key_required"
    assert entry["end_user_id"] is None
    assert entry["key_id"] is not None


def test_revoked_key_call_not_logged(
    gateway: Gateway, caller: Caller, tenancy: TenancyWriter, logs: Logs
) -> None:
    served = chat(gateway, caller.end_user_key, {"model": "gpt-4o-mini", "messages": ask("x")})
    logs.wait_for(caller, served.headers["x-request-id"])
    tenancy.revoke_end_user_key(caller)
    rejected = chat(gateway, caller.end_user_key, {"model": "gpt-4o-mini", "messages": ask("x")})
    assert rejected.status_code == 401
    # A later call of the same platform is logged; the 401 before it is not.
    other_key = tenancy.end_user(caller.platform_id)[1]
    later = chat(gateway, other_key, {"model": "gpt-4o-mini", "messages": ask("x")})
    logs.wait_for(caller, later.headers["x-request-id"])
    ids = [entry["request_id"] for entry in logs.list(caller)["data"]]
    assert ids == [later.headers["x-request-id"], served.headers["x-request-id"]]


def test_disconnected_stream_logged_as_499(gateway: Gateway, caller: Caller, logs: Logs) -> None:
    client = sdk_client(gateway, caller.end_user_key)
    with (
        client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini",
            messages=ask("x", text="a b c d e f g h", tokens_per_second=20),
            stream=True,
        ) as response,
    ):
        request_id = response.headers["x-request-id"]
        next(response.iter_lines())
    entry = logs.wait_for(caller, request_id)
    assert entry["status_code"] == 499
    assert entry["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_request_id_header_names_the_entry(
    llm: openai.OpenAI, caller: Caller, logs: Logs, stream: bool
) -> None:
    raw = llm.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ask("hi", text="ok"), stream=stream
    )
    request_id = raw.headers["x-request-id"]
    assert logs.wait_for(caller, request_id)["request_id"] == request_id


def test_wallet_rejection_logged_with_its_code(
    gateway: Gateway, caller: Caller, logs: Logs, money: Money
) -> None:
    # Ten nano-USD cover no call's maximum cost.
    money.redis.hset(native.redis_key("wallet", caller.platform_id), "balance_nano", 10)
    body = {"model": "gpt-4o-mini", "messages": ask("x"), "stream": True}
    response = chat(gateway, caller.end_user_key, body)
    assert response.status_code == 402
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["status_code"] == 402
    assert entry["error_code"] == "wallet_insufficient"
    assert entry["end_user_id"] == caller.end_user_id
    assert entry["model"] == "gpt-4o-mini"
    assert entry["provider"] == "openai"
    assert entry["stream"] is True
    assert entry["cost_usd"] == 0
    assert entry["charged_usd"] == 0
    assert entry["upstream_latency_ms"] is None


def test_rate_limit_rejection_logged_with_its_code(
    gateway: Gateway, caller: Caller, logs: Logs, money: Money, api: Api
) -> None:
    tenant = Tenant(caller.platform_id, caller.platform_key, "", caller.owner_id)
    money.clock.set(tenant, datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    path = f"/v1/platforms/{caller.platform_id}/rate-limits"
    limits = {"requests_per_minute": 1}
    assert api.request("PUT", path, key=caller.platform_key, json=limits).status_code == 200
    body = {"model": "gpt-4o-mini", "messages": ask("x")}
    assert chat(gateway, caller.end_user_key, body).status_code == 200
    response = chat(gateway, caller.end_user_key, body)
    assert response.status_code == 429
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["status_code"] == 429
    assert entry["error_code"] == "rate_limited"
    assert entry["model"] == "gpt-4o-mini"
    assert entry["cost_usd"] == 0


def test_responses_call_logged_with_its_endpoint(
    llm: openai.OpenAI, caller: Caller, logs: Logs
) -> None:
    raw = llm.responses.with_raw_response.create(
        model="gpt-4o-mini",
        input=f"hi\n{directive(text='Hello', usage={'prompt': 12, 'completion': 3})}",
        store=False,
    )
    request_id = raw.headers["x-request-id"]
    entry = logs.wait_for(caller, request_id)
    assert entry["endpoint"] == "/v1/responses"
    assert entry["status_code"] == 200
    assert entry["model"] == "gpt-4o-mini"
    assert entry["input_tokens"] == 12
    assert entry["output_tokens"] == 3
    assert entry["cost_usd"] == cost_usd(12, 0, 3)


def test_responses_rejection_logged_with_its_endpoint(
    gateway: Gateway, caller: Caller, logs: Logs
) -> None:
    with gateway.client() as client:
        response = client.post(
            "/v1/responses",
            json={"model": "no-such-model", "input": "hi"},
            headers={"Authorization": f"Bearer {caller.end_user_key}"},
        )
    assert response.status_code == 404
    entry = logs.wait_for(caller, response.headers["x-request-id"])
    assert entry["endpoint"] == "/v1/responses"
    assert entry["error_code"] == "model_not_found"
    assert entry["model"] == "no-such-model"
