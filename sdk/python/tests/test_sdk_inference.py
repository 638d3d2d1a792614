"""Models and chat completions through the SDK, against the gateway and its simulator."""

from __future__ import annotations

import json

import pytest

from assistiv import (
    AssistivAuthError,
    AssistivError,
    AssistivRateLimitError,
    ChatCompletion,
    ChatCompletionChunk,
    ModelList,
)

from conftest import Flavour
from tests.fixtures.inference import Caller, TenancyWriter
from tests.fixtures.simulator import Simulator, directive


def ask(prompt: str, **fields: object) -> list[dict[str, str]]:
    """One user message: `prompt`, then a `#sim` directive when `fields` are given."""
    content = f"{prompt}\n{directive(**fields)}" if fields else prompt
    return [{"role": "user", "content": content}]


def test_models_list_with_either_key(flavour: Flavour, caller: Caller) -> None:
    for key in (caller.end_user_key, caller.platform_key):
        models = flavour.run(flavour.client(key).models.list())
        assert isinstance(models, ModelList)
        ids = [model.id for model in models.data]
        assert "gpt-4o-mini" in ids
        assert "grok-3-mini" in ids
        assert not any(model_id.startswith("claude") for model_id in ids)


def test_chat_completion_returns_message(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    completion = flavour.run(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask("Say hi", text="Hi there", usage={"prompt": 9, "completion": 2}),
            temperature=0,
        )
    )
    assert isinstance(completion, ChatCompletion)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 9
    assert completion.usage.completion_tokens == 2


def test_chat_completion_tool_calls(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    completion = flavour.run(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask(
                "Weather?", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]
            ),
        )
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_chat_stream_yields_chunks(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    stream = flavour.run(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask("Count", text="one two three four"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    chunks = flavour.events(stream)
    assert all(isinstance(chunk, ChatCompletionChunk) for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "one two three four"
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert stream.request_id.startswith("req_")


def test_chat_stream_error_event_raises(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    stream = flavour.run(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask(
                "Fail", text="a b c d e f", error_after=2, error={"message": "The model crashed."}
            ),
            stream=True,
        )
    )
    with pytest.raises(AssistivError) as caught:
        flavour.events(stream)
    assert caught.value.status is None
    assert caught.value.code == "upstream_error"
    assert caught.value.message == "OpenAI returned server_error: The model crashed."
    assert caught.value.request_id == stream.request_id


def test_chat_with_platform_key_rejected(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    with pytest.raises(AssistivAuthError) as caught:
        flavour.run(client.chat.completions.create(model="gpt-4o-mini", messages=ask("hi")))
    assert caught.value.status == 403
    assert caught.value.code == "end_user_key_required"


def test_chat_upstream_400_not_retried(
    flavour: Flavour, caller: Caller, simulator: Simulator
) -> None:
    tag = f"bad-request-{flavour.kind}-{caller.end_user_id}"
    client = flavour.client(caller.end_user_key, max_retries=2)
    with pytest.raises(AssistivError) as caught:
        flavour.run(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=ask("hi", status=400, tag=tag, error={"message": "bad temperature"}),
            )
        )
    assert caught.value.status == 400
    assert caught.value.code == "upstream_invalid_request"
    assert caught.value.message == "bad temperature"
    assert len(simulator.requests(tag)) == 1


def test_chat_upstream_502_retried_then_raised(
    flavour: Flavour, caller: Caller, simulator: Simulator
) -> None:
    tag = f"upstream-error-{flavour.kind}-{caller.end_user_id}"
    client = flavour.client(caller.end_user_key, max_retries=1)
    with pytest.raises(AssistivError) as caught:
        flavour.run(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=ask("hi", status=502, tag=tag)
            )
        )
    assert caught.value.status == 502
    assert caught.value.code == "upstream_error"
    assert len(simulator.requests(tag, wait_for=2)) == 2


def test_chat_provider_429_carries_retry_after(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key, max_retries=0)
    with pytest.raises(AssistivRateLimitError) as caught:
        flavour.run(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=ask("hi", status=429, retry_after=7)
            )
        )
    assert caught.value.status == 429
    assert caught.value.code == "provider_rate_limited"
    assert caught.value.retry_after == 7.0


def test_models_list_sends_platform_header(
    flavour: Flavour, caller: Caller, tenancy: TenancyWriter
) -> None:
    tenancy.platform(caller.owner_email)
    unscoped = flavour.client(caller.platform_key)
    with pytest.raises(AssistivError) as caught:
        flavour.run(unscoped.models.list())
    assert caught.value.status == 400
    assert caught.value.code == "platform_id_required"

    scoped = flavour.client(caller.platform_key, platform_id=caller.platform_id)
    models = flavour.run(scoped.models.list())
    assert "gpt-4o-mini" in [model.id for model in models.data]
