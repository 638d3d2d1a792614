"""The simulator's Responses API, driven by the official `openai` SDK."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fixtures.simulator import Simulator, directive


def client(simulator: Simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{simulator.url}/v1", api_key="sk-test", max_retries=0)


def test_responses_create_text(simulator: Simulator) -> None:
    response = client(simulator).responses.create(
        model="gpt-4.1",
        input=directive(text="Bonjour le monde", usage={"cached": 2}),
        instructions="Answer in French.",
        metadata={"case": "text"},
    )
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "Bonjour le monde"
    assert response.instructions == "Answer in French."
    assert response.metadata == {"case": "text"}
    assert response.usage is not None
    assert response.usage.output_tokens == 3
    assert response.usage.input_tokens_details.cached_tokens == 2
    assert response.usage.total_tokens == response.usage.input_tokens + 3


def test_responses_function_calls(simulator: Simulator) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "get_time", "arguments": {"zone": "CET"}},
    ]
    response = client(simulator).responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": directive(tool_calls=calls)}],
        tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    )
    items = [item for item in response.output if item.type == "function_call"]
    assert [item.name for item in items] == ["get_weather", "get_time"]
    assert json.loads(items[0].arguments) == {"city": "Oslo"}
    assert items[0].call_id != items[1].call_id
    assert response.tools[0].name == "get_weather"


def test_responses_stream_events(simulator: Simulator) -> None:
    stream = client(simulator).responses.create(
        model="gpt-4.1", input=directive(text="streamed words here"), stream=True
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[1] == "response.in_progress"
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "streamed words here"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "streamed words here"
    assert completed.response.usage is not None
    assert completed.response.usage.output_tokens == 3


def test_responses_stream_helper_final_response(simulator: Simulator) -> None:
    with client(simulator).responses.stream(
        model="gpt-4.1",
        input=directive(
            reasoning="Consider it.", tool_calls=[{"name": "f", "arguments": {"a": 1}}]
        ),
    ) as stream:
        final = stream.get_final_response()
    kinds = [item.type for item in final.output]
    assert kinds == ["reasoning", "function_call"]
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == 2


def test_responses_incomplete_on_output_limit(simulator: Simulator) -> None:
    response = client(simulator).responses.create(
        model="gpt-4.1", input=directive(text="a b c d e"), max_output_tokens=2
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "a b"


def test_responses_error_status(simulator: Simulator) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client(simulator).responses.create(model="gpt-4.1", input=directive(status=500))
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"


def test_responses_in_stream_error(simulator: Simulator) -> None:
    stream = client(simulator).responses.create(
        model="gpt-4.1",
        input=directive(error_after=2, error={"message": "model crashed"}),
        stream=True,
    )
    events = list(stream)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "error",
    ]
    error = events[-1]
    assert error.type == "error"
    assert error.message == "model crashed"
    assert error.sequence_number == 2
