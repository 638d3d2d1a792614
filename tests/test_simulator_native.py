"""The simulator's Anthropic Messages and Gemini formats, over raw HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.fixtures.simulator import Simulator, SimulatorFactory, directive, fingerprint

ANTHROPIC_HEADERS = {"x-api-key": "ant-test", "anthropic-version": "2023-06-01"}


def sse_events(response: httpx.Response) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event in a complete response body."""
    events = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


def messages(simulator: Simulator, text: str, **extra: Any) -> httpx.Response:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": text}],
        **extra,
    }
    return httpx.post(f"{simulator.url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS)


def test_anthropic_message_shape(simulator: Simulator) -> None:
    response = messages(simulator, directive(text="Hi there", usage={"prompt": 50, "cached": 40}))
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    assert body["model"] == "claude-sonnet-4-5"
    assert body["content"] == [{"type": "text", "text": "Hi there"}]
    assert body["stop_reason"] == "end_turn"
    assert body["stop_sequence"] is None
    assert body["usage"]["input_tokens"] == 10
    assert body["usage"]["cache_read_input_tokens"] == 40
    assert body["usage"]["cache_creation_input_tokens"] == 0
    assert body["usage"]["output_tokens"] == 2


def test_anthropic_tool_use_blocks(simulator: Simulator) -> None:
    calls = [{"name": "lookup", "arguments": {"q": "x"}}, {"name": "fetch", "arguments": {}}]
    body = messages(simulator, directive(text="Using tools.", tool_calls=calls)).json()
    assert [block["type"] for block in body["content"]] == ["text", "tool_use", "tool_use"]
    assert body["content"][1]["name"] == "lookup"
    assert body["content"][1]["input"] == {"q": "x"}
    assert body["content"][1]["id"].startswith("toolu_")
    assert body["stop_reason"] == "tool_use"


def test_anthropic_stream_sequence(simulator: Simulator) -> None:
    text = directive(reasoning="Plan it.", text="Done now.", tool_calls=[{"name": "f"}])
    response = messages(simulator, text, stream=True)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[1:3] == ["content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    datas = [json.loads(data) for _, data in events]
    assert all(data["type"] == name for (name, _), data in zip(events, datas, strict=True))
    starts = [d["content_block"]["type"] for d in datas if d["type"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use"]
    thinking = "".join(
        d["delta"]["thinking"] for d in datas if d.get("delta", {}).get("type") == "thinking_delta"
    )
    assert thinking == "Plan it."
    text_out = "".join(
        d["delta"]["text"] for d in datas if d.get("delta", {}).get("type") == "text_delta"
    )
    assert text_out == "Done now."
    delta = datas[-2]
    assert delta["delta"]["stop_reason"] == "tool_use"
    # Two reasoning pieces, two text pieces, one argument piece ("{}").
    assert delta["usage"]["output_tokens"] == 5


def test_anthropic_system_role_rejected(simulator: Simulator) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 10,
        "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}],
    }
    response = httpx.post(f"{simulator.url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "messages.0.role: Input should be 'user' or 'assistant'",
    }


def test_anthropic_overloaded_in_stream(simulator: Simulator) -> None:
    response = messages(simulator, directive(error_after=1), stream=True)
    events = sse_events(response)
    assert [name for name, _ in events] == ["message_start", "error"]
    assert json.loads(events[1][1]) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_anthropic_wrong_key_401(simulator_factory: SimulatorFactory) -> None:
    guarded = simulator_factory(api_keys={"anthropic": "ant-right"})
    response = messages(guarded, "hi")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }
    [entry] = guarded.requests()
    assert entry["headers"]["x-api-key"] == fingerprint("ant-test")


def test_anthropic_system_prompt_recorded(simulator: Simulator) -> None:
    tag = uuid.uuid4().hex
    messages(simulator, "hello", metadata={"user_id": tag})
    [entry] = simulator.requests(tag)
    assert entry["provider"] == "anthropic"
    assert entry["body"]["system"] == "You are terse."
    assert entry["headers"]["anthropic-version"] == "2023-06-01"


def generate(
    simulator: Simulator, text: str, *, stream: bool = False, **extra: Any
) -> httpx.Response:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}
    return httpx.post(
        f"{simulator.url}/v1beta/models/gemini-2.5-flash:{method}",
        json=body,
        headers={"x-goog-api-key": "g-test"},
    )


def test_gemini_generate_content_shape(simulator: Simulator) -> None:
    response = generate(simulator, directive(text="Sure thing", usage={"prompt": 20, "cached": 5}))
    assert response.status_code == 200
    body = response.json()
    candidate = body["candidates"][0]
    assert candidate["content"] == {"parts": [{"text": "Sure thing"}], "role": "model"}
    assert candidate["finishReason"] == "STOP"
    assert body["modelVersion"] == "gemini-2.5-flash"
    assert body["usageMetadata"]["promptTokenCount"] == 20
    assert body["usageMetadata"]["candidatesTokenCount"] == 2
    assert body["usageMetadata"]["cachedContentTokenCount"] == 5
    assert body["usageMetadata"]["totalTokenCount"] == 22


def test_gemini_thoughts_and_function_calls(simulator: Simulator) -> None:
    config = {"generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    text = directive(reasoning="Think.", tool_calls=[{"name": "f", "arguments": {"n": 2}}])
    body = generate(simulator, text, **config).json()
    parts = body["candidates"][0]["content"]["parts"]
    assert parts[0] == {"text": "Think.", "thought": True}
    assert parts[1] == {"functionCall": {"name": "f", "args": {"n": 2}}}
    assert body["usageMetadata"]["thoughtsTokenCount"] == 1
    assert body["usageMetadata"]["candidatesTokenCount"] == 1


def test_gemini_stream_sse(simulator: Simulator) -> None:
    response = generate(simulator, directive(text="one two three", finish="SAFETY"), stream=True)
    assert response.headers["content-type"] == "text/event-stream"
    events = sse_events(response)
    assert all(name is None for name, _ in events)
    chunks = [json.loads(data) for _, data in events]
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == "one two three"
    assert chunks[-1]["candidates"][0]["finishReason"] == "SAFETY"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 3


def test_gemini_invalid_argument_error(simulator: Simulator) -> None:
    error = {"message": "Bad schema.", "status": "INVALID_ARGUMENT"}
    response = generate(simulator, directive(status=400, error=error))
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": 400, "message": "Bad schema.", "status": "INVALID_ARGUMENT"}
    }


def test_gemini_wrong_key_invalid_argument(simulator_factory: SimulatorFactory) -> None:
    guarded = simulator_factory(api_keys={"google": "g-right"})
    response = generate(guarded, "hi")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_anthropic_tool_result_scripts_next_reply(simulator: Simulator) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": directive(tool_calls=[{"name": "f", "id": "toolu_1"}])},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "ok\n" + directive(text="All done."),
                    }
                ],
            },
        ],
    }
    response = httpx.post(f"{simulator.url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.json()["content"] == [{"type": "text", "text": "All done."}]
    assert response.json()["stop_reason"] == "end_turn"
