"""The demo platform that `serve` provisions on a first start with an empty store.

With the `demo` setting on (the default; `ASSISTIV_DEMO=false` turns it off),
every start runs `provision` once the gateway listens:

- On an empty store (no platform yet) it creates the platform `Demo` with one
  platform key and the end user `demo-user` with one end-user key, remembers
  the platform id under `layout::demo_platform`, and prints both keys once,
  with a curl line and an openai-python snippet, on standard error. The keys
  are never shown again.
- While the demo platform exists, it points the platform's provider configs
  at the providers: a real provider when its key is in the environment
  (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`, `XAI_API_KEY`),
  else a simulator started in this process. The simulator gets a new port on
  each start, so the configs are rewritten on each start.

The platform and the end user are created through the tenancy store, as
`platforms create` and the management API create them.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import sys
from typing import Any

import redis
import redis.asyncio as aioredis

from control_plane import native, supervisor
from control_plane.commands.providers import PROVIDERS, store_provider_config
from control_plane.money.wallet import WalletStore
from control_plane.settings import Settings
from control_plane.store.end_users import EndUserStore
from control_plane.store.tenancy import TenancyStore

logger = logging.getLogger(__name__)

# The environment variable holding each provider's real API key.
REAL_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
}
# The key the demo's provider configs send to the simulator, which accepts any key.
SIMULATOR_KEY = "sk-simulator"
# The model the printed examples call, by the first provider that is configured.
EXAMPLE_MODELS = {
    "openai": "gpt-4o-mini",
    "xai": "grok-3-mini",
    "anthropic": "claude-haiku-4-5",
    "google": "gemini-2.5-flash",
}

# Wallet credit of a new demo platform: 10 USD.
DEMO_CREDIT_NANOS = 10_000_000_000

# The simulator of this process, kept alive until exit.
_simulator: native.Simulator | None = None


async def create_demo_tenant(redis_url: str, pepper: str) -> tuple[str, str, str]:
    """Create the demo platform and its end user; return (platform id, platform key,
    end-user key)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        platform, platform_key = await TenancyStore(client, pepper).create_platform("Demo", None)
        end_users = EndUserStore(client, pepper, platform.id)
        _, _, end_user_key = await end_users.create("demo-user", "Demo user", {})
        # Inference needs a funded wallet; the demo starts with a small credit.
        await WalletStore(client, platform.id, "0").credit(
            DEMO_CREDIT_NANOS, "demo-credit", "demo platform credit"
        )
    finally:
        await client.aclose()
    return platform.id, platform_key.raw_key, end_user_key.raw_key


def _simulator_url() -> str:
    global _simulator  # noqa: PLW0603 - one simulator per process, started on first use
    if _simulator is None:
        config = {"host": "127.0.0.1", "port": 0, "record_limit": 0}
        _simulator = native.start_simulator(json.dumps(config))
        atexit.register(_simulator.stop)
        logger.info("demo simulator listening on 127.0.0.1:%d", _simulator.port)
    return f"http://127.0.0.1:{_simulator.port}"


def _simulator_base_url(provider: str, url: str) -> str:
    return {
        "openai": f"{url}/openai/v1",
        "xai": f"{url}/xai/v1",
        "anthropic": f"{url}/anthropic",
        "google": f"{url}/google",
    }[provider]


def configure_providers(
    client: redis.Redis, keyring: native.Keyring, platform_id: str, environ: dict[str, str]
) -> dict[str, str]:
    """Point each provider of the demo platform at the real API or the simulator.

    Returns provider name to `real` or `simulator`.
    """
    where: dict[str, str] = {}
    for provider in PROVIDERS:
        real_key = environ.get(REAL_KEY_VARIABLES[provider], "").strip()
        if real_key:
            api_key, base_url, where[provider] = real_key, None, "real"
        else:
            api_key = SIMULATOR_KEY
            base_url = _simulator_base_url(provider, _simulator_url())
            where[provider] = "simulator"
        store_provider_config(
            client, keyring, platform_id, provider, api_key=api_key, base_url=base_url, enabled=True
        )
    return where


def examples(gateway_url: str, end_user_key: str, model: str) -> dict[str, str]:
    """Build a curl command and an openai-python snippet that call the gateway as the demo user."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})
    curl = (
        f"curl -s {gateway_url}/v1/chat/completions"
        f" -H 'Authorization: Bearer {end_user_key}'"
        f" -H 'Content-Type: application/json'"
        f" -d '{body}'"
    )
    python = (
        "from openai import OpenAI\n"
        f'client = OpenAI(base_url="{gateway_url}/v1", api_key="{end_user_key}")\n'
        "reply = client.chat.completions.create(\n"
        f'    model="{model}", messages=[{{"role": "user", "content": "Say hello"}}]\n'
        ")\n"
        "print(reply.choices[0].message.content)"
    )
    return {"curl": curl, "python": python}


def _banner(info: dict[str, Any]) -> str:
    sources = ", ".join(f"{name}: {where}" for name, where in info["providers"].items())
    return (
        "\n"
        "Demo platform provisioned. These keys are shown once; store them now.\n"
        f"  platform id:   {info['platform_id']}\n"
        f"  platform key:  {info['platform_key']}\n"
        f"  end-user key:  {info['end_user_key']}\n"
        f"  providers:     {sources}\n"
        "\n"
        "Try it with curl:\n"
        f"  {info['curl']}\n"
        "\n"
        "or with the openai Python package:\n"
        + "".join(f"  {line}\n" for line in info["python"].splitlines())
        + "\n"
    )


def provision(settings: Settings) -> dict[str, Any] | None:
    """Create or refresh the demo platform; return the ready-event fields it adds."""
    if not settings.demo or not settings.redis_url:
        return None
    # `serve` fills both in before it runs the hooks.
    assert settings.master_key is not None
    assert settings.key_pepper is not None
    keyring = native.Keyring(settings.master_key, list(settings.retired_master_keys))
    # A wildcard bind address is reachable through loopback.
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    gateway_url = f"http://{host}:{settings.port}"
    marker = native.redis_key("demo_platform")
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        platform_id = client.get(marker)
        if platform_id is None and client.scard(native.redis_key("platforms_index")) > 0:
            return None
        if platform_id is not None:
            if not client.exists(native.redis_key("platform", platform_id)):
                return None
            providers = configure_providers(client, keyring, platform_id, dict(os.environ))
            logger.info("demo platform %s: providers %s", platform_id, providers)
            return {"demo": {"platform_id": platform_id, "providers": providers}}

        platform_id, platform_key, end_user_key = asyncio.run(
            create_demo_tenant(settings.redis_url, settings.key_pepper)
        )
        client.set(marker, platform_id)
        providers = configure_providers(client, keyring, platform_id, dict(os.environ))
    finally:
        client.close()

    model = EXAMPLE_MODELS[next(p for p in EXAMPLE_MODELS if p in providers)]
    info: dict[str, Any] = {
        "platform_id": platform_id,
        "platform_key": platform_key,
        "end_user_key": end_user_key,
        "providers": providers,
        **examples(gateway_url, end_user_key, model),
    }
    sys.stderr.write(_banner(info))
    sys.stderr.flush()
    return {"demo": info}


supervisor.after_start_hooks.append(provision)
