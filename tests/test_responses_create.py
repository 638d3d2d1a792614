"""`POST /v1/responses` through the official OpenAI SDK, against the simulator."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, sdk_client
from tests.fixtures.responses import ResponsesClient, new_tag, say
from tests.fixtures.simulator import Simulator
from tests.harness import Gateway

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_response_object_fields(responses_client: ResponsesClient) -> None:
    prompt = say(
        "Say hello",
        new_tag(),
        text="Hello there",
        usage={"prompt": 12, "cached": 4, "completion": 5, "reasoning": 1},
    )
    response = responses_client.client.responses.create(
        model="gpt-4o-mini", input=prompt, instructions="Be brief", metadata={"topic": "greeting"}
    )
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == "gpt-4o-mini"
    assert response.instructions == "Be brief"
    assert response.metadata == {"topic": "greeting"}
    assert response.store is True
    assert response.error is None
    assert response.incomplete_details is None

    assert response.output_text == "Hello there"
    [message] = response.output
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.role == "assistant"
    assert message.status == "completed"

    assert response.usage is not None
    assert response.usage.input_tokens == 12
    assert response.usage.input_tokens_details.cached_tokens == 4
    assert response.usage.output_tokens == 5
    assert response.usage.output_tokens_details.reasoning_tokens == 1
    assert response.usage.total_tokens == 17


def test_sent_upstream_as_chat_completion(
    responses_client: ResponsesClient, simulator: Simulator
) -> None:
    tag = new_tag()
    prompt = say("Hi", tag, text="ok")
    responses_client.client.responses.create(
        model="gpt-4o-mini",
        input=prompt,
        instructions="Be brief",
        max_output_tokens=50,
        temperature=0.5,
        top_p=0.9,
        metadata={"k": "v"},
        user="user-7",
    )
    upstream = simulator.requests(tag, wait_for=1)[0]
    assert upstream["path"] == "/openai/v1/chat/completions"
    assert upstream["body"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": prompt},
        ],
        "max_completion_tokens": 50,
        "temperature": 0.5,
        "top_p": 0.9,
        "user": "user-7",
    }


def test_tools_and_formats_translated(
    responses_client: ResponsesClient, simulator: Simulator
) -> None:
    tag = new_tag()
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    responses_client.client.responses.create(
        model="gpt-4o-mini",
        input=say("Weather?", tag, text="{}"),
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": "get_weather"},
        parallel_tool_calls=False,
        text={"format": {"type": "json_schema", "name": "Answer", "schema": schema}},
    )
    body = simulator.requests(tag, wait_for=1)[0]["body"]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather of a city",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": schema},
    }


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"])
def test_function_call_round_trip(
    responses_client: ResponsesClient, simulator: Simulator, model: str
) -> None:
    client = responses_client.client
    call = {"name": "get_weather", "arguments": {"city": "Paris"}}
    asked = client.responses.create(
        model=model,
        input=say("Weather in Paris?", new_tag(), tool_calls=[call]),
        tools=[WEATHER_TOOL],
    )
    [item] = asked.output
    assert item.type == "function_call"
    assert item.id.startswith("fc_")
    assert item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "Paris"}
    assert item.status == "completed"
    assert asked.output_text == ""

    tag = new_tag()
    result = say("18 degrees and sunny", tag, text="It is sunny in Paris.")
    answered = client.responses.create(
        model=model,
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": item.call_id, "output": result}],
        tools=[WEATHER_TOOL],
    )
    assert answered.output_text == "It is sunny in Paris."
    upstream = simulator.requests(tag, wait_for=1)[0]["body"]
    if model.startswith("gpt"):
        assert upstream["messages"][1] == {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": item.arguments},
                }
            ],
        }
        assert upstream["messages"][2] == {
            "role": "tool",
            "tool_call_id": item.call_id,
            "content": result,
        }
    elif model.startswith("claude"):
        assert upstream["messages"][1]["content"] == [
            {"type": "tool_use", "id": item.call_id, "name": "get_weather",
             "input": {"city": "Paris"}}
        ]  # fmt: skip
        assert upstream["messages"][2]["content"][0]["tool_use_id"] == item.call_id
    else:
        assert upstream["contents"][1]["parts"][0]["functionCall"]["args"] == {"city": "Paris"}
        response_part = upstream["contents"][2]["parts"][0]["functionResponse"]
        assert response_part["name"] == "get_weather"


def test_stateless_tool_loop_with_input_items(
    responses_client: ResponsesClient, simulator: Simulator
) -> None:
    tag = new_tag()
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": "{\"city\":\"Oslo\"}"},
        {"type": "function_call_output", "call_id": "call_1",
         "output": say("Snow", tag, text="Snowing.")},
    ]  # fmt: skip
    response = responses_client.client.responses.create(
        model="claude-haiku-4-5", input=items, tools=[WEATHER_TOOL], store=False
    )
    assert response.output_text == "Snowing."
    body = simulator.requests(tag, wait_for=1)[0]["body"]
    assert [message["role"] for message in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"][0]["input"] == {"city": "Oslo"}


def test_output_limit_makes_incomplete(responses_client: ResponsesClient) -> None:
    response = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Talk", new_tag()), max_output_tokens=3
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert response.usage is not None
    assert response.usage.output_tokens == 3


def test_content_filter_makes_incomplete(responses_client: ResponsesClient) -> None:
    response = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Hmm", new_tag(), finish="content_filter")
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "content_filter"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"background": True}, "background"),
        ({"truncation": "auto"}, "truncation"),
        ({"include": ["reasoning.encrypted_content"]}, "include"),
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"extra_body": {"frobnicate": 1}}, "frobnicate"),
    ],
)
def test_unsupported_field_rejected(
    responses_client: ResponsesClient, fields: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        responses_client.client.responses.create(model="gpt-4o-mini", input="Hi", **fields)  # type: ignore[call-overload]
    assert raised.value.status_code == 400
    assert raised.value.code == "unsupported_parameter"
    assert raised.value.param == param


def test_invalid_item_named(responses_client: ResponsesClient) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        responses_client.client.responses.create(
            model="gpt-4o-mini",
            input=[{"role": "user", "content": "Hi"}, {"type": "function_call_output"}],
        )
    assert raised.value.code == "invalid_request"
    assert raised.value.param == "input[1].call_id"


def test_adapter_error_names_input_item(responses_client: ResponsesClient) -> None:
    items = [
        {"role": "user", "content": "Hi"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "not json"},
        {"type": "function_call_output", "call_id": "c1", "output": "x"},
    ]
    with pytest.raises(openai.BadRequestError) as raised:
        responses_client.client.responses.create(model="claude-haiku-4-5", input=items)
    assert raised.value.code == "invalid_request"
    assert raised.value.param == "input[1]"


def test_provider_error_relayed(responses_client: ResponsesClient) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        responses_client.client.responses.create(
            model="gpt-4o-mini", input=say("Hi", new_tag(), status=429, retry_after=2)
        )
    assert raised.value.status_code == 429
    assert raised.value.code == "provider_rate_limited"
    assert raised.value.response.headers["retry-after"] == "2"


def test_platform_key_rejected(gateway: Gateway, caller: Caller) -> None:
    with (
        sdk_client(gateway, caller.platform_key) as client,
        pytest.raises(openai.PermissionDeniedError) as raised,
    ):
        client.responses.create(model="gpt-4o-mini", input="Hi")
    assert raised.value.code == "end_user_key_required"


def test_collection_only_accepts_post(gateway: Gateway, caller: Caller) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/responses",
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
