"""Keys, end users, identity and platform scoping through the SDK, against the gateway."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistiv import (
    ApiKey,
    AssistivAuthError,
    AssistivError,
    CreatedApiKey,
    CreatedEndUser,
    EndUser,
    EndUserIdentity,
    PlatformIdentity,
)

from conftest import Flavour
from tests.fixtures.inference import Caller
from tests.fixtures.tenancy import PlatformFactory, Tenant


def test_me_identifies_platform_key(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    identity = flavour.run(client.me.get())
    assert isinstance(identity, PlatformIdentity)
    assert identity.platform.id == tenant.platform_id
    assert identity.api_key.id == tenant.key_id
    assert identity.api_key.key_prefix == tenant.key[:14]
    assert identity.platform_ids == [tenant.platform_id]


def test_me_identifies_end_user_key(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    identity = flavour.run(client.me.get())
    assert isinstance(identity, EndUserIdentity)
    assert identity.platform_id == caller.platform_id
    assert identity.end_user.id == caller.end_user_id
    assert identity.api_key.id == caller.end_user_key_id


def test_platform_resolved_from_single_platform_key(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    created = flavour.run(client.end_users.create(external_id="resolved"))
    scoped = flavour.client(tenant.key, platform_id=tenant.platform_id)
    found = flavour.run(scoped.end_users.get(created.id))
    assert found.external_id == "resolved"


def test_platform_required_when_key_reaches_several(
    flavour: Flavour, new_platform: PlatformFactory
) -> None:
    first = new_platform(owner="several@example.com")
    new_platform(owner="several@example.com")
    client = flavour.client(first.key)
    with pytest.raises(AssistivError) as caught:
        flavour.items(client.end_users.list())
    assert caught.value.status == 400
    assert caught.value.code == "platform_id_required"
    assert caught.value.param == "platform_id"
    assert "pass platform_id to the client" in caught.value.message


def test_platform_id_selects_platform(flavour: Flavour, new_platform: PlatformFactory) -> None:
    first = new_platform(owner="chooser@example.com")
    second = new_platform(owner="chooser@example.com")
    client = flavour.client(first.key, platform_id=second.platform_id)
    identity = flavour.run(client.me.get())
    assert identity.platform.id == second.platform_id
    created = flavour.run(client.end_users.create(external_id="on-second"))
    on_first = flavour.client(first.key, platform_id=first.platform_id)
    assert flavour.items(on_first.end_users.list()) == []
    assert [user.id for user in flavour.items(client.end_users.list())] == [created.id]


def test_api_key_create_list_revoke(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    created = flavour.run(client.api_keys.create(name="rotation"))
    assert isinstance(created, CreatedApiKey)
    assert created.raw_key.startswith("sk-plat_")
    assert created.name == "rotation"
    assert created.key_prefix == created.raw_key[:14]
    assert isinstance(created.created_at, datetime)

    listed = flavour.items(client.api_keys.list())
    assert [key.id for key in listed] == [tenant.key_id, created.id]
    assert all(isinstance(key, ApiKey) for key in listed)
    assert listed[1].key_prefix == created.key_prefix

    flavour.run(client.api_keys.revoke(created.id))
    revoked = flavour.client(created.raw_key)
    with pytest.raises(AssistivAuthError) as caught:
        flavour.run(revoked.me.get())
    assert caught.value.status == 401
    assert caught.value.code == "invalid_api_key"


def test_api_key_list_follows_cursors(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    created = [flavour.run(client.api_keys.create(name=f"key-{i}")).id for i in range(3)]
    pages = flavour.pages(client.api_keys.list(limit=1))
    assert [len(page.data) for page in pages] == [1, 1, 1, 1]
    assert [page.has_more for page in pages] == [True, True, True, False]
    assert [page.data[0].id for page in pages] == [tenant.key_id, *created]


def test_end_user_create_is_idempotent_on_external_id(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    first = flavour.run(
        client.end_users.create(
            external_id="user-42", display_name="Jane Smith", metadata={"plan": "pro"}
        )
    )
    assert isinstance(first, CreatedEndUser)
    assert first.external_id == "user-42"
    assert first.display_name == "Jane Smith"
    assert first.metadata == {"plan": "pro"}
    assert first.api_key.raw_key.startswith("sk-eu_")

    again = flavour.run(client.end_users.create(external_id="user-42", display_name="Other"))
    assert again.id == first.id
    assert again.display_name == "Jane Smith"
    assert again.api_key.id != first.api_key.id


def test_end_user_get_update_delete(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    created = flavour.run(client.end_users.create(external_id="editable", metadata={"a": 1}))

    fetched = flavour.run(client.end_users.get(created.id))
    assert isinstance(fetched, EndUser)
    assert fetched.metadata == {"a": 1}
    assert fetched.created_at == created.created_at

    renamed = flavour.run(client.end_users.update(created.id, display_name="Renamed"))
    assert renamed.display_name == "Renamed"
    assert renamed.metadata == {"a": 1}
    cleared = flavour.run(client.end_users.update(created.id, display_name=None, metadata=None))
    assert cleared.display_name is None
    assert cleared.metadata == {}

    flavour.run(client.end_users.delete(created.id))
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.end_users.get(created.id))
    assert caught.value.status == 404
    assert caught.value.code == "not_found"
    assert caught.value.request_id is not None
    assert caught.value.request_id.startswith("req_")


def test_end_user_list_follows_cursors(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    created = [flavour.run(client.end_users.create(external_id=f"u{i}")).id for i in range(5)]
    listed = flavour.items(client.end_users.list(limit=2))
    assert [user.id for user in listed] == created


def test_invalid_body_raises_with_param(flavour: Flavour, tenant: Tenant) -> None:
    client = flavour.client(tenant.key)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.end_users.create(external_id=""))
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request"
    assert caught.value.param == "external_id"
    assert type(caught.value) is AssistivError


def test_end_user_key_rejected_on_management(flavour: Flavour, caller: Caller) -> None:
    client = flavour.client(caller.end_user_key)
    with pytest.raises(AssistivAuthError) as caught:
        flavour.items(client.end_users.list())
    assert caught.value.status == 403
    assert caught.value.code == "platform_key_required"


def test_unknown_key_raises_auth_error(flavour: Flavour) -> None:
    client = flavour.client("sk-plat_" + "x" * 43)
    with pytest.raises(AssistivAuthError) as caught:
        flavour.run(client.me.get())
    assert caught.value.status == 401
    assert caught.value.code == "invalid_api_key"
