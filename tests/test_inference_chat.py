"""Chat completions through the gateway with the official OpenAI SDK, against the simulator."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator, directive
from tests.harness import Gateway, wait_until


def ask(prompt: str, **fields: object) -> list[dict[str, str]]:
    """One user message: `text`, then a `#sim` directive when `fields` are given."""
    content = f"{prompt}\n{directive(**fields)}" if fields else prompt
    return [{"role": "user", "content": content}]


def test_completion_returns_simulated_text(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask(
            "Say hello", text="Hello from the simulator", usage={"prompt": 7, "completion": 4}
        ),
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello from the simulator"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7
    assert completion.usage.completion_tokens == 4


def test_response_carries_request_id(llm: openai.OpenAI) -> None:
    raw = llm.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ask("hi", text="ok")
    )
    assert raw.headers["x-request-id"].startswith("req_")


def test_stream_relays_every_chunk(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask("Count", text="one two three four five six"),
        stream=True,
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "one two three four five six"
    assert len(chunks) > 2
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_hides_usage_chunk_unless_asked(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask("hi", text="short answer", usage={"prompt": 5, "completion": 2}),
        stream=True,
    )
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)


def test_stream_sends_usage_chunk_when_asked(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask("hi", text="short answer", usage={"prompt": 5, "completion": 2}),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == 5
    assert last.usage.completion_tokens == 2
    assert sum(1 for chunk in chunks if chunk.usage is not None) == 1


def test_gateway_asks_upstream_for_usage(
    llm: openai.OpenAI, simulator: Simulator, caller: Caller
) -> None:
    tag = f"usage-{caller.end_user_id}"
    list(
        llm.chat.completions.create(
            model="gpt-4o-mini", messages=ask("hi", text="x"), stream=True, user=tag
        )
    )
    recorded = simulator.requests(tag, wait_for=1)[0]
    body = json.loads(recorded["body"]) if isinstance(recorded["body"], str) else recorded["body"]
    assert body["stream_options"] == {"include_usage": True}


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}


def test_tool_call_returned(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="gpt-4o-mini", messages=ask("Weather?", tool_calls=[WEATHER_CALL]), tools=TOOLS
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}


def test_streamed_tool_call_reassembled(llm: openai.OpenAI) -> None:
    with llm.chat.completions.stream(
        model="gpt-4o-mini", messages=ask("Weather?", tool_calls=[WEATHER_CALL]), tools=TOOLS
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}


def test_unknown_fields_pass_through_byte_for_byte(
    gateway: Gateway, simulator: Simulator, caller: Caller
) -> None:
    tag = f"passthrough-{caller.end_user_id}"
    # Each field keeps its exact bytes (spacing, number spelling, escapes) and its position;
    # only the whitespace between top-level fields may change.
    body = (
        '{"model": "openai/gpt-4o-mini", "vendor_extension": {"b": 1.50, "a": [1e2, "\\u00e9"]},'
        f' "user": "{tag}", "messages": [{{"role": "user", "content": "hi"}}],'
        ' "temperature": 0.70}'
    )
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=body,
        headers={
            "Authorization": f"Bearer {caller.end_user_key}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    simulator.requests(tag, wait_for=1)
    # The listing embeds each recorded body verbatim, so the raw text shows the exact bytes.
    listing = httpx.get(f"{simulator.url}/_sim/requests", params={"tag": tag}).text
    assert '{"model":"gpt-4o-mini","vendor_extension":' in listing
    assert '"vendor_extension":{"b": 1.50, "a": [1e2, "\\u00e9"]},' in listing
    assert '"temperature":0.70}' in listing


def test_xai_model_routed_to_xai(llm: openai.OpenAI, simulator: Simulator, caller: Caller) -> None:
    tag = f"xai-{caller.end_user_id}"
    completion = llm.chat.completions.create(
        model="grok-3-mini", messages=ask("hi", text="from grok"), user=tag
    )
    assert completion.choices[0].message.content == "from grok"
    recorded = simulator.requests(tag, wait_for=1)[0]
    assert recorded["provider"] == "xai"


def test_platform_key_rejected_on_chat(gateway: Gateway, caller: Caller) -> None:
    with (
        sdk_client(gateway, caller.platform_key) as client,
        pytest.raises(openai.PermissionDeniedError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi"))
    assert raised.value.status_code == 403
    assert raised.value.code == "end_user_key_required"


def test_invalid_key_rejected(gateway: Gateway) -> None:
    bad_key = "sk-eu_" + "A" * 43
    with (
        sdk_client(gateway, bad_key) as client,
        pytest.raises(openai.AuthenticationError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi"))
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"


def test_revoked_key_rejected(gateway: Gateway, tenancy: TenancyWriter, caller: Caller) -> None:
    with sdk_client(gateway, caller.end_user_key) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi", text="ok"))
        tenancy.revoke_end_user_key(caller)

        def rejected() -> bool:
            try:
                client.models.list()
            except openai.AuthenticationError:
                return True
            return False

        # The invalidation message evicts the cached record; the cache TTL bounds the wait.
        assert wait_until(rejected, timeout=5)
        with pytest.raises(openai.AuthenticationError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi", text="ok"))
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"


def test_unknown_model_not_found(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        llm.chat.completions.create(model="gpt-imaginary", messages=ask("hi"))
    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"
    assert raised.value.param == "model"


def test_unconfigured_provider_named(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        llm.chat.completions.create(model="claude-sonnet-4-5", messages=ask("hi"))
    assert raised.value.status_code == 400
    assert raised.value.code == "provider_not_configured"
    assert "anthropic" in raised.value.message


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_output_limit_above_model_rejected(llm: openai.OpenAI, field: str) -> None:
    # gpt-4o-mini returns at most 16,384 tokens (the shipped catalog).
    limit: dict[str, int] = {field: 10**12}
    with pytest.raises(openai.BadRequestError) as raised:
        llm.chat.completions.create(model="gpt-4o-mini", messages=ask("hi"), **limit)
    assert raised.value.status_code == 400
    assert raised.value.code == "invalid_request"
    assert raised.value.param == field
    assert "16384" in raised.value.message


def test_output_limit_at_model_maximum_allowed(llm: openai.OpenAI) -> None:
    reply = llm.chat.completions.create(model="gpt-4o-mini", messages=ask("hi"), max_tokens=16_384)
    assert reply.choices[0].finish_reason == "stop"


def test_disabled_provider_not_configured(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    caller = tenancy.caller(simulator, providers=())
    tenancy.provider(caller.platform_id, "openai", simulator.base_url("openai"), enabled=False)
    with (
        sdk_client(gateway, caller.end_user_key) as client,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi"))
    assert raised.value.code == "provider_not_configured"
    assert "openai" in raised.value.message


INVALID_BODIES = [
    (b"{not json", "invalid_json", None),
    (b'{"messages": [{"role": "user", "content": "x"}]}', "invalid_request", "model"),
    (b'{"model": 7, "messages": [{"role": "user", "content": "x"}]}', "invalid_request", "model"),
    (b'{"model": "gpt-4o-mini"}', "invalid_request", "messages"),
    (b'{"model": "gpt-4o-mini", "messages": "hi"}', "invalid_request", "messages"),
    (
        b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "stream": "yes"}',
        "invalid_request",
        "stream",
    ),
]


@pytest.mark.parametrize(("body", "code", "param"), INVALID_BODIES)
def test_invalid_body_rejected(
    gateway: Gateway, caller: Caller, body: bytes, code: str, param: str | None
) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["param"] == param
    assert error["request_id"] == response.headers["x-request-id"]


def test_oversized_body_rejected(strict_gateway: Gateway, caller: Caller) -> None:
    filler = "x" * 8192
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": filler}]})
    response = httpx.post(
        f"{strict_gateway.url}/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("provider", "model"), [("anthropic", "claude-haiku-4-5"), ("google", "gemini-2.5-flash")]
)
def test_translated_provider_streams(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator, provider: str, model: str
) -> None:
    caller = tenancy.caller(simulator, providers=(provider,))
    with sdk_client(gateway, caller.end_user_key) as client:
        stream = client.chat.completions.create(
            model=model,
            messages=ask("hi", text="translated reply", usage={"prompt": 9, "completion": 2}),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "translated reply"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 9
    assert chunks[-1].usage.completion_tokens == 2
