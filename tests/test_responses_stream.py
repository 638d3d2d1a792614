"""Streamed responses: the Responses event sequence, read by the SDK's event iterator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
import redis

from control_plane import native
from tests.fixtures.inference import Caller
from tests.fixtures.responses import PROVIDER_MODELS, ResponsesClient, new_tag, say
from tests.fixtures.simulator import Simulator
from tests.harness import Gateway, wait_until

TEXT_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def stream_events(client: openai.OpenAI, **fields: Any) -> list[Any]:
    return list(client.responses.create(stream=True, **fields))


@pytest.mark.parametrize(("provider", "model"), PROVIDER_MODELS)
def test_text_event_sequence(responses_client: ResponsesClient, provider: str, model: str) -> None:
    events = stream_events(
        responses_client.client,
        model=model,
        input=say("Hi", new_tag(), text="Three small words", usage={"prompt": 9, "completion": 3}),
    )
    assert [event.type for event in events] == TEXT_SEQUENCE
    assert [event.sequence_number for event in events] == list(range(len(TEXT_SEQUENCE)))
    assert events[0].response.status == "in_progress"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert deltas == ["Three", " small", " words"]
    assert events[7].text == "Three small words"
    completed = events[-1].response
    assert completed.status == "completed"
    assert completed.output_text == "Three small words"
    assert completed.id == events[0].response.id
    assert completed.output[0].id == events[2].item.id
    assert completed.usage is not None
    assert completed.usage.input_tokens == 9
    assert completed.usage.output_tokens == 3


def test_function_call_arguments_streamed(responses_client: ResponsesClient) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"zone": "CET"}},
    ]
    events = stream_events(
        responses_client.client,
        model="gpt-4o-mini",
        input=say("Weather and time?", new_tag(), tool_calls=calls),
    )

    # Consecutive argument deltas collapse into one entry: their count depends on the chunking.
    kinds: list[str] = []
    for event in events:
        if not (kinds and kinds[-1] == event.type == "response.function_call_arguments.delta"):
            kinds.append(event.type)
    call_events = [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    assert kinds == ["response.created", "response.in_progress", *call_events, *call_events,
                     "response.completed"]  # fmt: skip

    done = [event for event in events if event.type == "response.function_call_arguments.done"]
    assert [event.name for event in done] == ["get_weather", "get_time"]
    assert [json.loads(event.arguments) for event in done] == [{"city": "Paris"}, {"zone": "CET"}]
    for index, finished in enumerate(done):
        deltas = "".join(
            event.delta
            for event in events
            if event.type == "response.function_call_arguments.delta"
            and event.output_index == index
        )
        assert deltas == finished.arguments
    output = events[-1].response.output
    assert [item.type for item in output] == ["function_call", "function_call"]
    assert [item.name for item in output] == ["get_weather", "get_time"]


def test_provider_error_becomes_failed(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    events = stream_events(
        client,
        model="gpt-4o-mini",
        input=say(
            "Hi", new_tag(), text="a b c d", error_after=2, error={"message": "The model crashed."}
        ),
    )
    last = events[-1]
    assert last.type == "response.failed"
    assert last.sequence_number == len(events) - 1
    assert last.response.status == "failed"
    assert last.response.error is not None
    assert last.response.error.message == "OpenAI returned server_error: The model crashed."
    assert last.response.error.code == "upstream_error"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(last.response.id)


def test_output_limit_ends_incomplete(responses_client: ResponsesClient) -> None:
    events = stream_events(
        responses_client.client,
        model="claude-haiku-4-5",
        input=say("Talk", new_tag()),
        max_output_tokens=2,
    )
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"


def test_streamed_response_stored_whole(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    events = stream_events(client, model="gpt-4o-mini", input=say("Hi", new_tag(), text="Saved"))
    completed = events[-1].response
    stored = client.responses.retrieve(completed.id)
    assert stored.model_dump() == completed.model_dump()


def test_frames_carry_event_and_data(gateway: Gateway, caller: Caller) -> None:
    body = {"model": "gpt-4o-mini", "input": say("Hi", new_tag(), text="Framed"), "stream": True}
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/responses",
        json=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        text = response.read().decode()
    frames = [frame for frame in text.split("\n\n") if frame]
    assert "[DONE]" not in text
    for number, frame in enumerate(frames):
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        data = json.loads(data_line[len("data: ") :])
        assert data["type"] == event_line[len("event: ") :]
        assert data["sequence_number"] == number
    assert frames[-1].startswith("event: response.completed\n")


def test_disconnect_cancels_and_stores_nothing(
    gateway: Gateway, caller: Caller, simulator: Simulator, redis_client: redis.Redis
) -> None:
    tag = new_tag()
    body = {"model": "gpt-4o-mini", "input": say("Hi", tag, text="a b c", hang=2), "stream": True}
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/responses",
        json=body,
        headers={"Authorization": f"Bearer {caller.end_user_key}"},
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        first = next(lines)
        data = next(lines)
    assert first == "event: response.created"
    response_id = json.loads(data[len("data: ") :])["response"]["id"]
    assert wait_until(lambda: simulator.requests(tag, wait_for=1)[0]["outcome"] == "disconnected")
    key = native.redis_key("response", caller.platform_id, response_id)
    assert redis_client.exists(key) == 0
