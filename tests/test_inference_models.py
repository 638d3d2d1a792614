"""`GET /v1/models`: the catalog filtered by the caller's configured providers."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator
from tests.harness import Gateway

OPENAI_MODELS = {
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    "gpt-4o", "gpt-4o-mini", "chatgpt-4o-latest", "o1", "o3", "o3-mini", "o4-mini",
}  # fmt: skip
XAI_MODELS = {"grok-4", "grok-3", "grok-3-mini"}


def test_models_listed_for_configured_providers(llm: openai.OpenAI) -> None:
    models = list(llm.models.list())
    assert {model.id for model in models} == OPENAI_MODELS | XAI_MODELS
    gpt = next(model for model in models if model.id == "gpt-4o-mini")
    assert gpt.object == "model"
    assert gpt.owned_by == "openai"


def test_models_differ_per_platform(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    only_xai = tenancy.caller(simulator, providers=("xai",))
    with sdk_client(gateway, only_xai.end_user_key) as client:
        assert {model.id for model in client.models.list()} == XAI_MODELS


def test_disabled_provider_models_hidden(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    caller = tenancy.caller(simulator)
    tenancy.provider(caller.platform_id, "xai", simulator.base_url("xai"), enabled=False)
    with sdk_client(gateway, caller.end_user_key) as client:
        assert {model.id for model in client.models.list()} == OPENAI_MODELS


def test_platform_without_providers_lists_nothing(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    caller = tenancy.caller(simulator, providers=())
    response = httpx.get(
        f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {caller.end_user_key}"}
    )
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": []}


def test_platform_key_lists_models(gateway: Gateway, caller: Caller) -> None:
    with sdk_client(gateway, caller.platform_key) as client:
        assert {model.id for model in client.models.list()} == OPENAI_MODELS | XAI_MODELS


def test_multi_platform_owner_must_name_platform(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator, caller: Caller
) -> None:
    second, _, _ = tenancy.platform(owner_email=caller.owner_email)
    tenancy.provider(second, "xai", simulator.base_url("xai"))
    url = f"{gateway.url}/v1/models"
    auth = {"Authorization": f"Bearer {caller.platform_key}"}

    missing = httpx.get(url, headers=auth)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "platform_id_required"

    chosen = httpx.get(url, headers={**auth, "X-Assistiv-Platform-Id": second})
    assert chosen.status_code == 200
    assert {model["id"] for model in chosen.json()["data"]} == XAI_MODELS


def test_foreign_platform_forbidden(
    gateway: Gateway, tenancy: TenancyWriter, simulator: Simulator, caller: Caller
) -> None:
    stranger = tenancy.caller(simulator)
    for key in (caller.platform_key, caller.end_user_key):
        response = httpx.get(
            f"{gateway.url}/v1/models",
            headers={
                "Authorization": f"Bearer {key}",
                "X-Assistiv-Platform-Id": stranger.platform_id,
            },
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "platform_forbidden"


def test_model_retrieved(llm: openai.OpenAI) -> None:
    model = llm.models.retrieve("grok-3")
    assert model.id == "grok-3"
    assert model.owned_by == "xai"


def test_unavailable_model_not_retrieved(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        llm.models.retrieve("claude-sonnet-4-5")
    assert raised.value.code == "model_not_found"


def test_models_need_a_key(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
