"""Provider errors and faults, as the OpenAI SDK receives them through the gateway."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator, directive
from tests.harness import Gateway, free_port, wait_until


def ask(**fields: object) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"hi\n{directive(**fields)}"}]


def test_provider_auth_failure_is_502(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        llm.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask(status=401, error={"message": "Incorrect API key provided"}),
        )
    assert raised.value.status_code == 502
    assert raised.value.code == "provider_auth_failed"


def test_provider_forbidden_is_502(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        llm.chat.completions.create(model="gpt-4o-mini", messages=ask(status=403))
    assert raised.value.status_code == 502
    assert raised.value.code == "provider_auth_failed"


def test_provider_rate_limit_relayed_with_retry_after(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        llm.chat.completions.create(model="gpt-4o-mini", messages=ask(status=429, retry_after=17))
    assert raised.value.status_code == 429
    assert raised.value.code == "provider_rate_limited"
    assert raised.value.response.headers["retry-after"] == "17"


def test_provider_bad_request_relayed(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        llm.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask(
                status=400, error={"message": "temperature is too high", "param": "temperature"}
            ),
        )
    assert raised.value.status_code == 400
    assert raised.value.message.endswith("temperature is too high")
    assert raised.value.param == "temperature"


def test_provider_server_error_is_502(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        llm.chat.completions.create(model="gpt-4o-mini", messages=ask(status=500))
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_error"


def test_connection_refused_is_502(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    caller = tenancy.caller(simulator, providers=())
    tenancy.provider(caller.platform_id, "openai", f"http://127.0.0.1:{free_port()}/v1")
    with (
        sdk_client(gateway, caller.end_user_key) as client,
        pytest.raises(openai.InternalServerError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask(text="x"))
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_error"


def test_hung_provider_times_out(strict_gateway: Gateway, caller: Caller) -> None:
    with (
        sdk_client(strict_gateway, caller.end_user_key) as client,
        pytest.raises(openai.APIStatusError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask(hang=True))
    assert raised.value.status_code == 504
    assert raised.value.code == "upstream_timeout"


def test_stream_stalled_midway_gets_error_event(strict_gateway: Gateway, caller: Caller) -> None:
    with sdk_client(strict_gateway, caller.end_user_key) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=ask(text="a b c d e f", hang=2), stream=True
        )
        with pytest.raises(openai.APIError) as raised:
            list(stream)
    assert raised.value.code == "upstream_timeout"
    assert "sent nothing" in raised.value.message


def test_stream_cut_midway_gets_error_event(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(
        model="gpt-4o-mini", messages=ask(text="a b c d e f g h", cut_after=2), stream=True
    )
    received: list[object] = []
    with pytest.raises(openai.APIError) as raised:
        received.extend(stream)
    assert raised.value.code == "upstream_error"


def test_cut_stream_ends_with_error_event_not_done(gateway: Gateway, caller: Caller) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": ask(text="a b c d e f g h", cut_after=2),
        "stream": True,
    }
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
    ) as response:
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200
    last = json.loads(events[-1].removeprefix("data: "))
    assert last["error"]["code"] == "upstream_error"
    assert last["error"]["request_id"] == response.headers["x-request-id"]
    assert "data: [DONE]" not in events


def test_provider_error_event_in_stream(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask(text="a b c d", error_after=1, error={"message": "model overloaded"}),
        stream=True,
    )
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert raised.value.code == "upstream_error"
    assert raised.value.message.startswith("OpenAI returned server_error: ")


def test_client_disconnect_cancels_upstream(
    gateway: Gateway, simulator: Simulator, caller: Caller
) -> None:
    tag = f"disconnect-{caller.end_user_id}"
    body = {
        "model": "gpt-4o-mini",
        "messages": ask(text="a b c d e f g h", hang=1),
        "stream": True,
        "user": tag,
    }
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
    ) as response:
        first = next(response.iter_lines())
        assert first.startswith("data: ")
    # Leaving the block closed the client's connection while the provider was still streaming.

    def upstream_outcome() -> str:
        return str(simulator.requests(tag, wait_for=1)[0]["outcome"])

    assert wait_until(lambda: upstream_outcome() == "disconnected", timeout=10)


def test_client_timeout_cancels_nonstream_upstream(
    gateway: Gateway, simulator: Simulator, caller: Caller
) -> None:
    tag = f"gone-{caller.end_user_id}"
    body = {"model": "gpt-4o-mini", "messages": ask(hang=True), "user": tag}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gateway.url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {caller.end_user_key}"},
            timeout=httpx.Timeout(5, read=0.5),
        )

    def upstream_outcome() -> str:
        return str(simulator.requests(tag, wait_for=1)[0]["outcome"])

    assert wait_until(lambda: upstream_outcome() == "disconnected", timeout=10)
