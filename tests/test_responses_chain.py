"""Conversations chained with `previous_response_id`, replayed to every provider."""

from __future__ import annotations

import openai
import pytest
import redis

from control_plane import native
from tests.conftest import GatewayFactory
from tests.fixtures.inference import TenancyWriter, sdk_client
from tests.fixtures.responses import (
    PROVIDER_MODELS,
    ResponsesClient,
    conversation,
    new_tag,
    say,
)
from tests.fixtures.simulator import Simulator
from tests.harness import wait_until

THIRTY_DAYS = 30 * 24 * 3600


@pytest.mark.parametrize(("provider", "model"), PROVIDER_MODELS)
def test_third_turn_replays_both_earlier_turns(
    responses_client: ResponsesClient, simulator: Simulator, provider: str, model: str
) -> None:
    client = responses_client.client
    tags = [new_tag() for _ in range(3)]
    prompts = [say(f"Turn {i + 1}", tag, text=f"Reply {i + 1}") for i, tag in enumerate(tags)]
    first = client.responses.create(model=model, input=prompts[0], instructions="Be brief")
    second = client.responses.create(model=model, input=prompts[1], previous_response_id=first.id)
    third = client.responses.create(
        model=model, input=prompts[2], previous_response_id=second.id, instructions="Be formal"
    )
    assert [first.output_text, second.output_text, third.output_text] == [
        "Reply 1",
        "Reply 2",
        "Reply 3",
    ]
    assert third.previous_response_id == second.id
    upstream = simulator.requests(tags[2], wait_for=1)[0]
    assert upstream["provider"] == provider
    assert conversation(provider, upstream["body"]) == [
        ("system", "Be formal"),
        ("user", prompts[0]),
        ("assistant", "Reply 1"),
        ("user", prompts[1]),
        ("assistant", "Reply 2"),
        ("user", prompts[2]),
    ]


@pytest.mark.parametrize(("provider", "model"), PROVIDER_MODELS)
def test_streamed_turn_chains(
    responses_client: ResponsesClient, simulator: Simulator, provider: str, model: str
) -> None:
    client = responses_client.client
    tags = [new_tag(), new_tag()]
    first_prompt = say("Stream this", tags[0], text="Streamed words arrive")
    events = list(client.responses.create(model=model, input=first_prompt, stream=True))
    completed = events[-1]
    assert completed.type == "response.completed"
    second_prompt = say("And then?", tags[1], text="Done")
    client.responses.create(
        model=model, input=second_prompt, previous_response_id=completed.response.id
    )
    upstream = simulator.requests(tags[1], wait_for=1)[0]
    assert conversation(provider, upstream["body"]) == [
        ("user", first_prompt),
        ("assistant", "Streamed words arrive"),
        ("user", second_prompt),
    ]


def test_instructions_apply_to_their_turn_only(
    responses_client: ResponsesClient, simulator: Simulator
) -> None:
    client = responses_client.client
    tag = new_tag()
    first = client.responses.create(
        model="gpt-4o-mini", input=say("One", new_tag(), text="A"), instructions="Speak French"
    )
    client.responses.create(
        model="gpt-4o-mini", input=say("Two", tag, text="B"), previous_response_id=first.id
    )
    body = simulator.requests(tag, wait_for=1)[0]["body"]
    roles = [message["role"] for message in body["messages"]]
    assert roles == ["user", "assistant", "user"]


def test_model_switch_keeps_conversation(
    responses_client: ResponsesClient, simulator: Simulator
) -> None:
    client = responses_client.client
    tag = new_tag()
    first_prompt = say("Hello Claude", new_tag(), text="Hi from Claude")
    first = client.responses.create(model="claude-haiku-4-5", input=first_prompt)
    second_prompt = say("Hello Gemini", tag, text="Hi from Gemini")
    second = client.responses.create(
        model="gemini-2.5-flash", input=second_prompt, previous_response_id=first.id
    )
    assert second.model == "gemini-2.5-flash"
    upstream = simulator.requests(tag, wait_for=1)[0]
    assert conversation("google", upstream["body"]) == [
        ("user", first_prompt),
        ("assistant", "Hi from Claude"),
        ("user", second_prompt),
    ]


def test_unknown_previous_response_not_found(responses_client: ResponsesClient) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        responses_client.client.responses.create(
            model="gpt-4o-mini", input="Hi", previous_response_id="resp_doesnotexist"
        )
    assert raised.value.status_code == 404
    assert raised.value.code == "not_found"
    assert raised.value.type == "not_found_error"
    assert raised.value.param == "previous_response_id"


def test_unstored_response_cannot_be_chained(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    unstored = client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="Yo"), store=False
    )
    assert unstored.store is False
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(
            model="gpt-4o-mini", input="Again", previous_response_id=unstored.id
        )
    assert raised.value.param == "previous_response_id"


def test_deleted_ancestor_breaks_chain(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    first = client.responses.create(model="gpt-4o-mini", input=say("1", new_tag(), text="a"))
    second = client.responses.create(
        model="gpt-4o-mini", input=say("2", new_tag(), text="b"), previous_response_id=first.id
    )
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model="gpt-4o-mini", input="3", previous_response_id=second.id)
    assert raised.value.param == "previous_response_id"
    assert first.id in raised.value.message


def test_expired_response_not_found(
    responses_client: ResponsesClient, redis_client: redis.Redis
) -> None:
    client = responses_client.client
    first = client.responses.create(model="gpt-4o-mini", input=say("1", new_tag(), text="a"))
    key = native.redis_key("response", responses_client.caller.platform_id, first.id)
    redis_client.pexpire(key, 1)
    assert wait_until(lambda: redis_client.exists(key) == 0)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model="gpt-4o-mini", input="2", previous_response_id=first.id)
    assert raised.value.param == "previous_response_id"


def test_stored_for_thirty_days_by_default(
    responses_client: ResponsesClient, redis_client: redis.Redis
) -> None:
    created = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="a")
    )
    key = native.redis_key("response", responses_client.caller.platform_id, created.id)
    ttl = redis_client.ttl(key)
    assert THIRTY_DAYS - 60 <= ttl <= THIRTY_DAYS


def test_retention_days_setting_applies(
    gateway_factory: GatewayFactory,
    tenancy: TenancyWriter,
    simulator: Simulator,
    redis_client: redis.Redis,
) -> None:
    short = gateway_factory(ASSISTIV_RESPONSE_RETENTION_DAYS="2")
    caller = tenancy.caller(simulator)
    with sdk_client(short, caller.end_user_key) as client:
        created = client.responses.create(model="gpt-4o-mini", input=say("Hi", new_tag(), text="a"))
    ttl = redis_client.ttl(native.redis_key("response", caller.platform_id, created.id))
    assert 2 * 24 * 3600 - 60 <= ttl <= 2 * 24 * 3600


def test_new_turn_renews_its_conversation(
    responses_client: ResponsesClient, redis_client: redis.Redis
) -> None:
    client = responses_client.client
    platform_id = responses_client.caller.platform_id
    first = client.responses.create(model="gpt-4o-mini", input=say("1", new_tag(), text="a"))
    second = client.responses.create(
        model="gpt-4o-mini", input=say("2", new_tag(), text="b"), previous_response_id=first.id
    )
    for response in (first, second):
        redis_client.expire(native.redis_key("response", platform_id, response.id), 1000)
    client.responses.create(
        model="gpt-4o-mini", input=say("3", new_tag(), text="c"), previous_response_id=second.id
    )
    for response in (first, second):
        ttl = redis_client.ttl(native.redis_key("response", platform_id, response.id))
        assert THIRTY_DAYS - 60 <= ttl <= THIRTY_DAYS
