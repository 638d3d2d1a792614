"""Translated chat completions end to end: the official OpenAI SDK, the gateway, and the
simulator speaking Anthropic Messages and Gemini.

Each test runs once per translated provider (`route`). The `#sim` directive of the user's
question scripts the simulator's first reply. Its `then` scripts the reply to the tool
results, so the tool results stay plain JSON, as a real tool returns them.
The simulator's record of each request shows what the gateway sent in the provider's format.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import openai
import pytest

from tests.fixtures.inference import TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator, directive
from tests.fixtures.translation import ROUTES, Answer, Route, ToolCall, complete
from tests.harness import Gateway

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
}
TIME_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "timezone": {"type": "string"}},
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": WEATHER_PARAMETERS,
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Local time in a city",
        "parameters": TIME_PARAMETERS,
    },
}

# Ids of tool calls: Anthropic's (the simulator mints `toolu_` ids), and the ones the gateway
# mints for Gemini calls that carry none.
CALL_ID = {"anthropic": r"toolu_[0-9a-f]{24}", "google": r"call_[0-9a-f]{24}"}


def question(prompt: str, **fields: Any) -> dict[str, str]:
    """A user message: `prompt`, then a `#sim` directive with `fields`."""
    return {"role": "user", "content": f"{prompt}\n{directive(**fields)}"}


def tool_result(call: ToolCall, result: Any) -> dict[str, str]:
    return {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}


def upstream_path(route: Route, stream: bool) -> tuple[str, str | None]:
    """The simulator path and query of one translated call."""
    if route.provider == "anthropic":
        return "/anthropic/messages", None
    method = "streamGenerateContent" if stream else "generateContent"
    return f"/google/models/{route.model}:{method}", "alt=sse" if stream else None


def sent_tools(route: Route, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool declarations of an upstream body, as name, description and schema."""
    if route.provider == "anthropic":
        return [
            {"name": t["name"], "description": t["description"], "schema": t["input_schema"]}
            for t in body["tools"]
        ]
    [group] = body["tools"]
    return [
        {"name": t["name"], "description": t["description"], "schema": t["parametersJsonSchema"]}
        for t in group["functionDeclarations"]
    ]


def expected_turns(route: Route, answer: Answer, results: list[Any]) -> list[dict[str, Any]]:
    """The model turn of `answer` and the user turn with the `results` of its tool calls, in
    the provider's format, as the gateway must send them back."""
    calls = answer.tool_calls
    if route.provider == "anthropic":
        text_blocks = [{"type": "text", "text": answer.content}] if answer.content else []
        uses = [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": c.parsed_arguments()}
            for c in calls
        ]
        answers = [
            {"type": "tool_result", "tool_use_id": c.id, "content": json.dumps(r)}
            for c, r in zip(calls, results, strict=True)
        ]
        return [
            {"role": "assistant", "content": text_blocks + uses},
            {"role": "user", "content": answers},
        ]
    # Gemini matches responses by name and order; ids the gateway minted are not sent.
    text = [{"text": answer.content}] if answer.content else []
    function_calls = [
        {"functionCall": {"name": c.name, "args": c.parsed_arguments()}} for c in calls
    ]
    responses = [
        {"functionResponse": {"name": c.name, "response": r}}
        for c, r in zip(calls, results, strict=True)
    ]
    return [{"role": "model", "parts": text + function_calls}, {"role": "user", "parts": responses}]


def conversation(route: Route, body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["messages"] if route.provider == "anthropic" else body["contents"])


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
def test_tool_call_round_trip(
    translated: openai.OpenAI, route: Route, simulator: Simulator, stream: bool
) -> None:
    tag = uuid.uuid4().hex
    arguments = {"city": "Paris", "unit": "celsius"}
    final_text = "It is 21 degrees and sunny in Paris."
    messages: list[dict[str, Any]] = [
        question(
            "What is the weather in Paris?",
            tag=tag,
            tool_calls=[{"name": "get_weather", "arguments": arguments}],
            then={"tag": tag, "text": final_text},
        )
    ]
    request = {"model": route.model, "tools": [WEATHER_TOOL]}

    first = complete(translated, stream=stream, messages=messages, **request)
    assert first.finish_reason == "tool_calls"
    assert first.content is None
    assert len(first.tool_calls) == 1
    call = first.tool_calls[0]
    assert call.name == "get_weather"
    assert call.parsed_arguments() == arguments
    assert re.fullmatch(CALL_ID[route.provider], call.id), call.id

    result = {"temperature": 21, "sky": "sunny"}
    messages += [first.assistant_message(), tool_result(call, result)]
    second = complete(translated, stream=stream, messages=messages, **request)
    assert second.finish_reason == "stop"
    assert second.content == final_text
    assert second.tool_calls == []

    sent = simulator.requests(tag)
    assert len(sent) == 2
    later, earlier = sent
    path, query = upstream_path(route, stream)
    for entry in sent:
        assert entry["path"] == path
        assert entry["query"] == query
        assert entry["status"] == 200
        if route.provider == "anthropic":
            assert entry["body"].get("stream", False) is stream
        assert sent_tools(route, entry["body"]) == [
            {"name": "get_weather", "description": "Current weather for a city",
             "schema": WEATHER_PARAMETERS}
        ]  # fmt: skip
    assert len(conversation(route, earlier["body"])) == 1
    turns = conversation(route, later["body"])
    assert len(turns) == 3
    assert turns[1:] == expected_turns(route, first, [result])


def test_stream_rebuilds_full_answer(
    translated: openai.OpenAI, route: Route, simulator: Simulator
) -> None:
    tag = uuid.uuid4().hex
    calls = [
        {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}},
        {"name": "get_time", "arguments": {"city": "Zürich", "timezone": "Europe/Zurich"}},
    ]
    messages: list[dict[str, Any]] = [
        question(
            "Weather and local time in Zürich?",
            tag=tag,
            text="Checking both.",
            tool_calls=calls,
            then={"tag": tag, "text": "Zürich: 4 °C and clear, at 14:05 local time."},
        )
    ]
    request = {"model": route.model, "tools": [WEATHER_TOOL, TIME_TOOL]}

    first = assert_stream_matches_full(translated, messages, request)
    assert first.finish_reason == "tool_calls"
    assert first.content == "Checking both."
    assert [call.name for call in first.tool_calls] == ["get_weather", "get_time"]
    assert [call.parsed_arguments() for call in first.tool_calls] == [
        call["arguments"] for call in calls
    ]
    assert len({call.id for call in first.tool_calls}) == 2

    results = [{"temperature": 4, "sky": "clear"}, {"time": "14:05"}]
    messages.append(first.assistant_message())
    messages += [tool_result(c, r) for c, r in zip(first.tool_calls, results, strict=True)]
    second = assert_stream_matches_full(translated, messages, request)
    assert second.finish_reason == "stop"
    assert second.content == "Zürich: 4 °C and clear, at 14:05 local time."

    # Both calls of the second turn carried both results, matched to the full answer's calls.
    sent = simulator.requests(tag)
    assert len(sent) == 4
    for entry in sent[:2]:
        turns = conversation(route, entry["body"])
        assert turns[1:] == expected_turns(route, first, results)


def assert_stream_matches_full(
    client: openai.OpenAI, messages: list[dict[str, Any]], request: dict[str, Any]
) -> Answer:
    """Send one request unstreamed and streamed; require the same message and usage."""
    full = complete(client, stream=False, messages=messages, **request)
    streamed = complete(client, stream=True, messages=messages, **request)
    assert streamed.comparable() == full.comparable()
    assert full.usage is not None
    assert full.usage["completion_tokens"] > 0
    assert (
        full.usage["total_tokens"] == full.usage["prompt_tokens"] + full.usage["completion_tokens"]
    )
    assert streamed.usage == full.usage
    # A role chunk, content or tool-call chunks, the finish chunk and the usage chunk.
    assert streamed.chunks > 3
    return full


# Routes of the error tests: the forwarded OpenAI format and both translated ones.
ERROR_ROUTES = [Route("openai", "gpt-4o-mini"), *ROUTES]

# Error fields that claim the request was invalid, in each provider's terms, sent with a
# status that means something else. The OpenAI `code` replaces the status's usual code, which
# would agree with the status.
INVALID_REQUEST_KIND: dict[str, dict[str, str]] = {
    "openai": {"type": "invalid_request_error", "code": "invalid_value"},
    "anthropic": {"type": "invalid_request_error"},
    "google": {"status": "INVALID_ARGUMENT"},
}


def send_failing(
    gateway: Gateway,
    tenancy: TenancyWriter,
    simulator: Simulator,
    route: Route,
    **fault: Any,
) -> openai.APIStatusError:
    """Send one request that the simulated provider fails with `fault`; return the SDK's error."""
    tag = uuid.uuid4().hex
    caller = tenancy.caller(simulator, providers=(route.provider,))
    message = question("Hi", tag=tag, **fault)
    with (
        sdk_client(gateway, caller.end_user_key) as client,
        pytest.raises(openai.APIStatusError) as raised,
    ):
        client.chat.completions.create(model=route.model, messages=[message])
    [entry] = simulator.requests(tag)
    assert entry["status"] == fault["status"]
    return raised.value


@pytest.mark.parametrize("route", ERROR_ROUTES, ids=[r.provider for r in ERROR_ROUTES])
def test_provider_401_is_auth_failure(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator, route: Route
) -> None:
    error = {**INVALID_REQUEST_KIND[route.provider], "message": "The key was rejected."}
    raised = send_failing(gateway, tenancy, simulator, route, status=401, error=error)
    assert isinstance(raised, openai.InternalServerError)
    assert raised.status_code == 502
    assert raised.code == "provider_auth_failed"
    assert raised.message.endswith("The key was rejected.")


@pytest.mark.parametrize("route", ERROR_ROUTES, ids=[r.provider for r in ERROR_ROUTES])
def test_provider_429_is_rate_limit(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator, route: Route
) -> None:
    error = {**INVALID_REQUEST_KIND[route.provider], "message": "Slow down."}
    raised = send_failing(
        gateway, tenancy, simulator, route, status=429, retry_after=7, error=error
    )
    assert isinstance(raised, openai.RateLimitError)
    assert raised.status_code == 429
    assert raised.code == "provider_rate_limited"
    assert raised.response.headers["retry-after"] == "7"
    assert raised.message.endswith("Slow down.")
