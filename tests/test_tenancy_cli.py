"""The operator CLI: `assistiv-gateway platforms …` against the session Redis."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gateway_env
from tests.fixtures.tenancy import Api, assert_error
from tests.harness import GATEWAY_COMMAND, RedisServer


class Cli:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GATEWAY_COMMAND, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.returncode == 0, result.stderr + result.stdout
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path, secrets: dict[str, str], redis_server: RedisServer) -> Cli:
    return Cli(tmp_path, gateway_env(secrets, redis_server.url))


def owner_email() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}@example.com"


def test_create_platform_and_use_its_key(cli: Cli, api: Api) -> None:
    created = cli.json("platforms", "create", "--name", "CLI Platform")
    platform, key = created["platform"], created["api_key"]
    assert set(platform) == {"id", "name", "slug", "owner_id", "owner_email", "created_at"}
    assert platform["name"] == "CLI Platform"
    assert platform["owner_email"] is None
    assert set(key) == {"id", "name", "key_prefix", "raw_key", "created_at"}
    assert key["name"] == "default"
    response = api.get(f"/v1/platforms/{platform['id']}", key=key["raw_key"])
    assert response.status_code == 200
    assert response.json()["name"] == "CLI Platform"
    assert response.json()["slug"] == platform["slug"]
    me = api.get("/v1/me", key=key["raw_key"]).json()
    assert me["platform"]["id"] == platform["id"]
    assert me["api_key"]["id"] == key["id"]


def test_create_text_output_shows_key_once(cli: Cli) -> None:
    result = cli.run("platforms", "create", "--name", "Text Output")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("platform plat_")
    assert lines[1].startswith("platform key key_")
    assert "shown only now: sk-plat_" in lines[1]


def test_owner_platforms_share_keys(cli: Cli, api: Api) -> None:
    email = owner_email()
    first = cli.json("platforms", "create", "--name", "One", "--owner", email.upper())
    second = cli.json("platforms", "create", "--name", "Two", "--owner", email)
    assert first["platform"]["owner_id"] == second["platform"]["owner_id"]
    assert first["platform"]["owner_email"] == email
    key = first["api_key"]["raw_key"]
    assert api.get(f"/v1/platforms/{second['platform']['id']}", key=key).status_code == 200
    response = api.get("/v1/me", key=key)
    assert_error(response, 400, "platform_id_required", "X-Assistiv-Platform-Id")


def test_list_platforms(cli: Cli) -> None:
    email = owner_email()
    first = cli.json("platforms", "create", "--name", "Listed A", "--owner", email)["platform"]
    second = cli.json("platforms", "create", "--name", "Listed B", "--owner", email)["platform"]
    listed = cli.json("platforms", "list", "--owner", email)
    assert listed == [first, second]
    everything = cli.json("platforms", "list")
    assert first in everything
    assert second in everything


def test_list_unknown_owner_empty(cli: Cli) -> None:
    assert cli.json("platforms", "list", "--owner", owner_email()) == []


def test_key_create_list_revoke(cli: Cli, api: Api) -> None:
    created = cli.json("platforms", "create", "--name", "Keys")
    platform_id = created["platform"]["id"]
    new = cli.json("platforms", "keys", "create", "--platform", platform_id, "--name", "ci")
    assert new["platform_id"] == platform_id
    raw = new["api_key"]["raw_key"]
    assert api.get(f"/v1/platforms/{platform_id}", key=raw).status_code == 200

    listed = cli.json("platforms", "keys", "list", "--platform", platform_id)
    assert [item["name"] for item in listed] == ["default", "ci"]
    assert raw not in json.dumps(listed)
    assert set(listed[0]) == {"id", "name", "key_prefix", "created_at", "last_used_at"}

    key_id = new["api_key"]["id"]
    revoked = cli.json("platforms", "keys", "revoke", "--platform", platform_id, "--key", key_id)
    assert revoked == {"platform_id": platform_id, "key_id": key_id, "revoked": True}
    deadline = time.monotonic() + 1.0
    while api.get(f"/v1/platforms/{platform_id}", key=raw).status_code != 401:
        assert time.monotonic() < deadline, "revoked key still accepted after 1 s"


def test_key_create_unknown_platform_fails(cli: Cli) -> None:
    result = cli.run(
        "platforms", "keys", "create", "--platform", "plat_00000000000000000000000000", "--json"
    )
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "command_failed"
    assert "plat_00000000000000000000000000 not found" in error["message"]


def test_revoke_unknown_key_fails(cli: Cli) -> None:
    platform_id = cli.json("platforms", "create", "--name", "Revoke")["platform"]["id"]
    result = cli.run(
        "platforms",
        "keys",
        "revoke",
        "--platform",
        platform_id,
        "--key",
        "key_00000000000000000000000000",
    )
    assert result.returncode == 1
    assert "not found" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["platforms", "create"],
        ["platforms", "create", "--name", "   "],
        ["platforms", "create", "--name", "x" * 101],
        ["platforms", "create", "--name", "ok", "--owner", "not-an-email"],
        ["platforms", "keys", "create", "--platform", "nope"],
        ["platforms", "keys", "revoke", "--platform", "plat_00000000000000000000000000"],
        [
            "platforms",
            "keys",
            "revoke",
            "--platform",
            "plat_00000000000000000000000000",
            "--key",
            "x",
        ],
    ],
)
def test_bad_arguments_exit_2(cli: Cli, args: list[str]) -> None:
    result = cli.run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
