"""Stored responses: retrieve, delete, input items, and who may see them."""

from __future__ import annotations

import httpx
import openai
import pytest
import redis

from control_plane import native
from tests.fixtures.inference import TenancyWriter, sdk_client
from tests.fixtures.responses import ResponsesClient, new_tag, say
from tests.fixtures.simulator import Simulator
from tests.harness import Gateway


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def five_items() -> list[dict[str, str]]:
    prompts = [f"Message {i}" for i in range(1, 5)]
    items = [{"role": "user", "content": prompt, "id": f"msg_in{i}"} for i, prompt in
             enumerate(prompts, start=1)]  # fmt: skip
    items.append({"role": "user", "content": say("Last", new_tag(), text="ok"), "id": "msg_in5"})
    return items


def test_retrieve_returns_created_object(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    created = client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="Kept"), metadata={"a": "b"}
    )
    stored = client.responses.retrieve(created.id)
    assert stored.model_dump() == created.model_dump()


def test_delete_removes_response(gateway: Gateway, responses_client: ResponsesClient) -> None:
    client = responses_client.client
    created = client.responses.create(model="gpt-4o-mini", input=say("Hi", new_tag(), text="x"))
    url = f"{gateway.url}/v1/responses/{created.id}"
    key = responses_client.caller.end_user_key
    deleted = httpx.delete(url, headers=auth(key))
    assert deleted.status_code == 200
    assert deleted.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.retrieve(created.id)
    assert raised.value.type == "not_found_error"
    assert raised.value.code == "not_found"
    again = httpx.delete(url, headers=auth(key))
    assert again.status_code == 404
    assert again.json()["error"]["request_id"] == again.headers["x-request-id"]


def test_input_items_newest_first(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    created = client.responses.create(model="gpt-4o-mini", input=five_items())
    page = client.responses.input_items.list(created.id)
    ids = [item.id for item in page.data]
    assert ids == ["msg_in5", "msg_in4", "msg_in3", "msg_in2", "msg_in1"]
    assert page.first_id == "msg_in5"
    assert page.last_id == "msg_in1"
    assert page.has_more is False
    oldest = page.data[-1]
    assert oldest.type == "message"
    assert oldest.role == "user"
    assert [(part.type, part.text) for part in oldest.content] == [("input_text", "Message 1")]


def test_input_items_paged_with_after(gateway: Gateway, responses_client: ResponsesClient) -> None:
    client = responses_client.client
    created = client.responses.create(model="gpt-4o-mini", input=five_items())
    first = client.responses.input_items.list(created.id, limit=2, order="asc")
    assert [item.id for item in first.data] == ["msg_in1", "msg_in2"]
    assert first.has_more is True
    every = [
        item.id for item in client.responses.input_items.list(created.id, limit=2, order="asc")
    ]
    assert every == ["msg_in1", "msg_in2", "msg_in3", "msg_in4", "msg_in5"]
    last = httpx.get(
        f"{gateway.url}/v1/responses/{created.id}/input_items",
        params={"limit": 2, "order": "asc", "after": "msg_in4"},
        headers=auth(responses_client.caller.end_user_key),
    ).json()
    assert [item["id"] for item in last["data"]] == ["msg_in5"]
    assert last["object"] == "list"
    assert last["first_id"] == "msg_in5"
    assert last["last_id"] == "msg_in5"
    assert last["has_more"] is False


def test_input_items_minted_ids(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    created = client.responses.create(model="gpt-4o-mini", input=say("Hi", new_tag(), text="x"))
    [item] = client.responses.input_items.list(created.id).data
    assert item.id.startswith("msg_")
    assert item.id not in {output.id for output in created.output}


def test_chained_response_lists_own_input(responses_client: ResponsesClient) -> None:
    client = responses_client.client
    first = client.responses.create(model="gpt-4o-mini", input=say("One", new_tag(), text="1"))
    second = client.responses.create(
        model="gpt-4o-mini",
        input=[{"role": "user", "content": say("Two", new_tag(), text="2"), "id": "msg_two"}],
        previous_response_id=first.id,
    )
    assert [item.id for item in client.responses.input_items.list(second.id).data] == ["msg_two"]


@pytest.mark.parametrize(
    ("query", "param"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                         ({"order": "newest"}, "order"), ({"after": "msg_none"}, "after")]
)  # fmt: skip
def test_input_items_bad_query(
    gateway: Gateway, responses_client: ResponsesClient, query: dict[str, object], param: str
) -> None:
    client = responses_client.client
    created = client.responses.create(model="gpt-4o-mini", input=say("Hi", new_tag(), text="x"))
    response = httpx.get(
        f"{gateway.url}/v1/responses/{created.id}/input_items",
        params=query,
        headers=auth(responses_client.caller.end_user_key),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["param"] == param


def test_other_end_user_gets_not_found(
    gateway: Gateway, tenancy: TenancyWriter, responses_client: ResponsesClient
) -> None:
    owner = responses_client.client
    created = owner.responses.create(model="gpt-4o-mini", input=say("Secret", new_tag(), text="s"))
    _, other_key, _ = tenancy.end_user(responses_client.caller.platform_id)
    with sdk_client(gateway, other_key) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(created.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.input_items.list(created.id)
        with pytest.raises(openai.NotFoundError) as raised:
            other.responses.create(
                model="gpt-4o-mini", input="Tell me", previous_response_id=created.id
            )
        assert raised.value.param == "previous_response_id"
    assert owner.responses.retrieve(created.id).output_text == "s"


def test_other_platform_gets_not_found(
    gateway: Gateway,
    tenancy: TenancyWriter,
    simulator: Simulator,
    responses_client: ResponsesClient,
) -> None:
    created = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Secret", new_tag(), text="s")
    )
    stranger = tenancy.caller(simulator)
    with sdk_client(gateway, stranger.end_user_key) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError) as raised:
            other.responses.create(
                model="gpt-4o-mini", input="Tell me", previous_response_id=created.id
            )
        assert raised.value.param == "previous_response_id"


def test_record_kept_under_platform(
    responses_client: ResponsesClient, redis_client: redis.Redis
) -> None:
    caller = responses_client.caller
    created = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="x")
    )
    key = native.redis_key("response", caller.platform_id, created.id)
    assert key == f"ag:{{{caller.platform_id}}}:resp:{created.id}"
    record = redis_client.hgetall(key)
    assert record["end_user_id"] == caller.end_user_id
    assert record["model"] == "gpt-4o-mini"
    assert record["previous_response_id"] == ""
    assert record["ancestors"] == "[]"


def test_unstored_response_leaves_nothing(
    responses_client: ResponsesClient, redis_client: redis.Redis
) -> None:
    client = responses_client.client
    created = client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="x"), store=False
    )
    key = native.redis_key("response", responses_client.caller.platform_id, created.id)
    assert redis_client.exists(key) == 0
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_stored_paths_check_methods(gateway: Gateway, responses_client: ResponsesClient) -> None:
    headers = auth(responses_client.caller.end_user_key)
    item = httpx.post(f"{gateway.url}/v1/responses/resp_x", headers=headers)
    assert item.status_code == 405
    assert item.headers["allow"] == "GET, DELETE"
    listing = httpx.delete(f"{gateway.url}/v1/responses/resp_x/input_items", headers=headers)
    assert listing.status_code == 405
    assert listing.headers["allow"] == "GET"


def test_cancel_not_found(gateway: Gateway, responses_client: ResponsesClient) -> None:
    created = responses_client.client.responses.create(
        model="gpt-4o-mini", input=say("Hi", new_tag(), text="x")
    )
    response = httpx.post(
        f"{gateway.url}/v1/responses/{created.id}/cancel",
        headers=auth(responses_client.caller.end_user_key),
    )
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
