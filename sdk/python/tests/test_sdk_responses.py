"""The Responses API through the SDK, against the gateway and its simulator."""

from __future__ import annotations

import pytest

from assistiv import AssistivAuthError, AssistivError, Response, ResponseStreamEvent

from conftest import Flavour
from tests.fixtures.inference import Caller
from tests.fixtures.simulator import directive


def test_response_from_string_input(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    response = flavour.run(
        client.responses.create(
            model="gpt-4o-mini",
            input="Plan a trip\n"
            + directive(text="Go to Oslo", usage={"prompt": 8, "completion": 3}),
            metadata={"trip": "oslo"},
        )
    )
    assert isinstance(response, Response)
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "Go to Oslo"
    assert response.output[0]["type"] == "message"
    assert response.metadata == {"trip": "oslo"}
    assert response.usage is not None
    assert response.usage.input_tokens == 8
    assert response.usage.output_tokens == 3
    assert response.usage.total_tokens == 11


def test_response_chain_with_items(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    first = flavour.run(
        client.responses.create(model="gpt-4o-mini", input="hi\n" + directive(text="Hello"))
    )
    second = flavour.run(
        client.responses.create(
            model="gpt-4o-mini",
            input=[{"role": "user", "content": "again\n" + directive(text="Hello again")}],
            previous_response_id=first.id,
        )
    )
    assert second.previous_response_id == first.id
    assert second.output_text == "Hello again"


def test_response_stream_yields_events(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    stream = flavour.run(
        client.responses.create(
            model="gpt-4o-mini", input="Count\n" + directive(text="one two three"), stream=True
        )
    )
    events = flavour.events(stream)
    assert all(isinstance(event, ResponseStreamEvent) for event in events)
    types = [event.type for event in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(delta or "" for delta in deltas) == "one two three"
    final = events[-1].response
    assert final is not None
    assert final.status == "completed"
    assert final.output_text == "one two three"


def test_response_stream_failure_event(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    stream = flavour.run(
        client.responses.create(
            model="gpt-4o-mini",
            input="Fail\n" + directive(text="a b c d", error_after=2, error={"message": "boom"}),
            stream=True,
        )
    )
    events = flavour.events(stream)
    assert events[-1].type == "response.failed"
    failed = events[-1].response
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error["code"] == "upstream_error"


def test_response_with_platform_key_rejected(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.platform_key)
    with pytest.raises(AssistivAuthError) as caught:
        flavour.run(client.responses.create(model="gpt-4o-mini", input="hi"))
    assert caught.value.status == 403
    assert caught.value.code == "end_user_key_required"


def test_response_unsupported_parameter_raises(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.responses.create(model="gpt-4o-mini", input="hi", background=True))
    assert caught.value.status == 400
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "background"
