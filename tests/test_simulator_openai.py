"""The simulator's OpenAI chat completions, driven by the official `openai` SDK."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import TypeVar

import openai
import pytest

from tests.fixtures.simulator import Simulator, SimulatorFactory, directive

T = TypeVar("T")


def client(simulator: Simulator, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{simulator.url}/v1", api_key="sk-test", max_retries=0, **kwargs)


def drain(stream: Iterable[T], received: list[T]) -> None:
    """Append each item of `stream` to `received` until it ends or raises."""
    received.extend(stream)


def default_text(message: str) -> str:
    digest = hashlib.sha256(message.encode()).hexdigest()[:8]
    return f"Simulated reply {digest}: the quick brown fox jumps over the lazy dog."


def test_chat_default_reply_is_deterministic(simulator: Simulator) -> None:
    sdk = client(simulator)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    first = sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
    second = sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert first.choices[0].message.content == default_text("What is the capital of France?")
    assert second.choices[0].message.content == first.choices[0].message.content
    assert first.id != second.id
    assert first.model == "gpt-4o-mini"
    assert first.choices[0].finish_reason == "stop"


def test_chat_usage_follows_documented_rule(simulator: Simulator) -> None:
    sdk = client(simulator)
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": directive(text="one two three")},
        ],
    )
    user_text = directive(text="one two three")
    # Each message: 3 + ceil(text bytes / 4).
    prompt = (3 + -(-len("Be brief.") // 4)) + (3 + -(-len(user_text.encode()) // 4))
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == prompt + 3


def test_chat_usage_override(simulator: Simulator) -> None:
    sdk = client(simulator)
    usage = {"prompt": 1000, "completion": 50, "cached": 600, "reasoning": 20}
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(usage=usage)}],
    )
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 1000
    assert completion.usage.completion_tokens == 50
    assert completion.usage.total_tokens == 1050
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 600
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 20


def test_chat_stream_reassembles_text(simulator: Simulator) -> None:
    sdk = client(simulator)
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(text="Héllo, wörld! 🙂 Done.")}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Héllo, wörld! 🙂 Done."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1


def test_chat_stream_usage_chunk_with_include_usage(simulator: Simulator) -> None:
    sdk = client(simulator)
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(text="a b c d", usage={"prompt": 9})}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == 9
    assert last.usage.completion_tokens == 4
    assert last.usage.total_tokens == 13
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_chat_parallel_tool_calls(simulator: Simulator) -> None:
    sdk = client(simulator)
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"zone": "CET"}, "id": "call_fixed"},
    ]
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(tool_calls=calls)}],
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    assert [call.function.name for call in message.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert message.tool_calls[0].id.startswith("call_")
    assert message.tool_calls[1].id == "call_fixed"


def test_chat_stream_tool_call_deltas_concatenate(simulator: Simulator) -> None:
    sdk = client(simulator)
    calls = [
        {"name": "search", "arguments": {"query": "simulated upstream providers"}},
        {"name": "lookup", "arguments": {"id": 12345678}},
    ]
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(text="Let me check.", tool_calls=calls)}],
        stream=True,
    )
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    text = ""
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or []:
            if call.function and call.function.name:
                names[call.index] = call.function.name
            arguments[call.index] = arguments.get(call.index, "") + (
                (call.function.arguments if call.function else "") or ""
            )
    assert text == "Let me check."
    assert names == {0: "search", 1: "lookup"}
    assert json.loads(arguments[0]) == {"query": "simulated upstream providers"}
    assert json.loads(arguments[1]) == {"id": 12345678}
    assert finish == "tool_calls"


def test_chat_reasoning_content_for_xai(simulator: Simulator) -> None:
    sdk = openai.OpenAI(base_url=simulator.base_url("xai"), api_key="xai-test", max_retries=0)
    completion = sdk.chat.completions.create(
        model="grok-3-mini",
        messages=[{"role": "user", "content": directive(reasoning="Think first.", text="Done.")}],
    )
    message = completion.choices[0].message.model_dump()
    assert message["reasoning_content"] == "Think first."
    assert message["content"] == "Done."
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2


def test_chat_max_tokens_truncates_with_length(simulator: Simulator) -> None:
    sdk = client(simulator)
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(text="one two three four")}],
        max_completion_tokens=2,
    )
    assert completion.choices[0].message.content == "one two"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2


def test_chat_error_status_raises_rate_limit(simulator: Simulator) -> None:
    sdk = client(simulator)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": directive(status=429, retry_after=7)}],
        )
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"


def test_chat_error_fields_from_directive(simulator: Simulator) -> None:
    sdk = client(simulator)
    error = {"type": "insufficient_quota", "code": "insufficient_quota", "message": "No credit."}
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": directive(status=429, error=error)}],
        )
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert caught.value.body == {
        "message": "No credit.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }


def test_chat_in_stream_error_raises(simulator: Simulator) -> None:
    sdk = client(simulator)
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(error_after=2)}],
        stream=True,
    )
    received: list[object] = []
    with pytest.raises(openai.APIError):
        drain(stream, received)
    assert len(received) == 2


def test_chat_cut_stream_fails_the_read(simulator: Simulator) -> None:
    sdk = client(simulator)
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": directive(cut_after=3)}],
        stream=True,
    )
    received: list[object] = []
    with pytest.raises(openai.APIConnectionError) as caught:
        drain(stream, received)
    assert "incomplete chunked read" in str(caught.value.__cause__)
    assert len(received) == 3


def test_chat_adversarial_split_still_parses(simulator: Simulator) -> None:
    sdk = client(simulator)
    text = "Ünïcödé splits: 日本語のテキスト and emoji 🙂🙃 end."
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": directive(text=text, split="adversarial", eol="crlf")}
        ],
        stream=True,
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text


def test_chat_wrong_key_authentication_error(simulator_factory: SimulatorFactory) -> None:
    guarded = simulator_factory(api_keys={"openai": "sk-right-key"})
    sdk = openai.OpenAI(base_url=f"{guarded.url}/v1", api_key="sk-wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"


def test_chat_right_key_accepted(simulator_factory: SimulatorFactory) -> None:
    guarded = simulator_factory(api_keys={"openai": "sk-right-key"})
    sdk = openai.OpenAI(base_url=f"{guarded.url}/v1", api_key="sk-right-key", max_retries=0)
    tag = uuid.uuid4().hex
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], user=tag
    )
    assert completion.choices[0].message.content == default_text("hi")
    assert guarded.requests(tag)[0]["status"] == 200


def test_chat_tool_round_trip_scripted_by_tool_result(simulator: Simulator) -> None:
    sdk = client(simulator)
    calls = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "Weather in Paris?\n" + directive(tool_calls=calls)}
    ]
    first = sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
    tool_call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append(
        {
            "role": "tool",
            "tool_call_id": tool_call.id,
            "content": "22 C\n" + directive(text="It is 22 degrees in Paris."),
        }
    )
    second = sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert second.choices[0].message.content == "It is 22 degrees in Paris."
    assert second.choices[0].finish_reason == "stop"


def test_chat_tool_result_without_directive_gets_default_text(simulator: Simulator) -> None:
    sdk = client(simulator)
    calls = [{"name": "lookup", "arguments": {}}]
    messages: list[dict[str, object]] = [
        {"role": "user", "content": directive(tool_calls=calls)},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
    ]
    completion = sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
    # The client turn is the tool message, whose strings are its content and its call id.
    assert completion.choices[0].message.content == default_text("found\ncall_1")
    assert completion.choices[0].message.tool_calls is None
