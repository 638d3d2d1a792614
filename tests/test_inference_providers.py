"""`assistiv-gateway providers`: provider configs set by the operator, used by the data plane."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import openai
import pytest

from tests.conftest import gateway_env
from tests.fixtures.inference import TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator, directive, fingerprint
from tests.harness import GATEWAY_COMMAND, Gateway, RedisServer


@pytest.fixture
def cli_env(secrets: dict[str, str], redis_server: RedisServer) -> dict[str, str]:
    """The environment of an operator command on the session Redis."""
    return gateway_env(secrets, redis_server.url)


def run_providers(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY_COMMAND, "providers", *args, "--json"],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_set_then_list_hides_key(
    tmp_path: Path,
    cli_env: dict[str, str],
    tenancy: TenancyWriter,
    simulator: Simulator,
) -> None:
    platform_id, _, _ = tenancy.platform()
    key_file = tmp_path / "openai.key"
    key_file.write_text("sk-operator-secret-123\n")
    base_url = simulator.base_url("openai")
    result = run_providers(
        ["set", "--platform", platform_id, "--provider", "openai", "--api-key-file", str(key_file),
         "--base-url", base_url + "/"],
        cli_env, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "sk-operator-secret-123" not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["provider"] == "openai"
    assert shown["enabled"] is True
    assert shown["base_url"] == base_url
    assert len(shown["key_id"]) == 8

    listed = run_providers(["list", "--platform", platform_id], cli_env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "sk-operator-secret-123" not in listed.stdout
    configs = json.loads(listed.stdout)["data"]
    assert [config["provider"] for config in configs] == ["openai"]
    assert configs[0]["key_id"] == shown["key_id"]
    assert set(configs[0]) == {"provider", "enabled", "base_url", "key_id", "updated_at"}


def test_stored_key_sealed_at_rest(
    tmp_path: Path,
    cli_env: dict[str, str],
    tenancy: TenancyWriter,
) -> None:
    platform_id, _, _ = tenancy.platform()
    key_file = tmp_path / "xai.key"
    key_file.write_text("xai-secret-value")
    result = run_providers(
        ["set", "--platform", platform_id, "--provider", "xai", "--api-key-file", str(key_file)],
        cli_env, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = json.loads(tenancy.client.hget(f"ag:{{{platform_id}}}:providers", "xai") or "{}")
    assert "xai-secret-value" not in json.dumps(stored)
    assert stored["api_key"].startswith("v1.")
    assert stored["base_url"] is None


def test_gateway_uses_key_set_by_cli(
    tmp_path: Path,
    cli_env: dict[str, str],
    tenancy: TenancyWriter,
    simulator: Simulator,
    gateway: Gateway,
) -> None:
    platform_id, _, _ = tenancy.platform()
    _, end_user_key, _ = tenancy.end_user(platform_id)
    key_file = tmp_path / "openai.key"
    key_file.write_text("sk-first-key")
    url = simulator.base_url("openai")
    command = ["set", "--platform", platform_id, "--provider", "openai",
               "--api-key-file", str(key_file), "--base-url", url]  # fmt: skip
    assert run_providers(command, cli_env, tmp_path).returncode == 0
    tag = f"cli-{platform_id}"
    messages = [{"role": "user", "content": "hi\n" + directive(text="ok")}]
    with sdk_client(gateway, end_user_key) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, user=tag)
        first = simulator.requests(tag, wait_for=1)[0]
        assert first["headers"]["authorization"] == f"Bearer {fingerprint('sk-first-key')}"

        # Rotating the key reaches the data plane through the invalidation message.
        key_file.write_text("sk-second-key")
        assert run_providers(command, cli_env, tmp_path).returncode == 0
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, user=tag)
        latest = simulator.requests(tag, wait_for=2)[0]
        assert latest["headers"]["authorization"] == f"Bearer {fingerprint('sk-second-key')}"


def test_disabling_keeps_key(
    tmp_path: Path,
    cli_env: dict[str, str],
    tenancy: TenancyWriter,
    simulator: Simulator,
    gateway: Gateway,
) -> None:
    caller = tenancy.caller(simulator, providers=("openai",))
    result = run_providers(
        ["set", "--platform", caller.platform_id, "--provider", "openai", "--disabled"],
        cli_env, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enabled"] is False
    with (
        sdk_client(gateway, caller.end_user_key) as client,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.code == "provider_not_configured"


def test_disabling_keeps_base_url(
    tmp_path: Path, cli_env: dict[str, str], tenancy: TenancyWriter, simulator: Simulator
) -> None:
    caller = tenancy.caller(simulator, providers=("openai",))
    url = simulator.base_url("openai")
    base = ["set", "--platform", caller.platform_id, "--provider", "openai"]
    disabled = run_providers([*base, "--disabled"], cli_env, tmp_path)
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["base_url"] == url
    enabled = run_providers(base, cli_env, tmp_path)
    assert enabled.returncode == 0, enabled.stderr
    assert json.loads(enabled.stdout)["base_url"] == url
    assert json.loads(enabled.stdout)["enabled"] is True
    reset = run_providers([*base, "--base-url", "default"], cli_env, tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["base_url"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "plat_missing", "--provider", "openai"], "plat_missing does not exist"),
        (["--provider", "anthropic"], "anthropic is not configured"),
        (["--provider", "openai", "--api-key-file", "/no/such"], "could not read the API key"),
        (["--provider", "openai", "--base-url", "ftp://x", "--api-key-file", "-"], "http"),
    ],
)  # fmt: skip
def test_set_rejects_bad_input(
    tmp_path: Path,
    cli_env: dict[str, str],
    tenancy: TenancyWriter,
    args: list[str],
    message: str,
) -> None:
    platform_id, _, _ = tenancy.platform()
    full = args if "--platform" in args else ["--platform", platform_id, *args]
    result = run_providers(["set", *full], cli_env, tmp_path, stdin="sk-from-stdin\n")
    assert result.returncode == 1
    assert message in json.loads(result.stdout)["error"]["message"]
    assert "Traceback" not in result.stderr
