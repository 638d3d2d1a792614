"""`assistiv-gateway providers`: the LLM provider configs of a platform.

Provider API keys are write-once secrets entered by a person, so no REST
endpoint sets them; this command does. `providers set` seals the key with
AES-256-GCM under the master key (associated data
`provider:<platform id>:<provider>`), writes it to the platform's provider
configs hash and publishes `providers:<platform id>` so that every data-plane
instance drops its decrypted copy. `providers list` shows each config's
provider, enabled flag, base URL, key id and update time, never the key.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

from control_plane import native
from control_plane.cli import CommandError, command, output, registrar
from control_plane.commands.store import open_store
from control_plane.settings import Settings

PROVIDERS = ("openai", "anthropic", "google", "xai")


def _aad(platform_id: str, provider: str) -> bytes:
    return f"provider:{platform_id}:{provider}".encode()


def key_id_of(sealed: str) -> str:
    """Return the master key id a sealed value names (`v1.<key id>.<payload>`)."""
    parts = sealed.split(".", 2)
    return parts[1] if len(parts) == 3 else ""


def check_base_url(url: str) -> str:
    """Return `url` without a trailing slash, or raise ValueError when it is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"base URL {url!r} must start with http:// or https:// and name a host")
    return url.strip().rstrip("/")


def store_provider_config(
    client: redis.Redis,
    keyring: native.Keyring,
    platform_id: str,
    provider: str,
    *,
    api_key: str | None,
    base_url: str | None,
    enabled: bool,
    keep_base_url: bool = False,
) -> dict[str, Any]:
    """Write one provider config and publish its invalidation; return what `list` shows.

    `api_key=None` keeps the stored key and `keep_base_url` the stored base URL, so a
    config can be disabled and enabled again without entering either again.
    """
    configs_key = native.redis_key("provider_configs", platform_id)
    existing = client.hget(configs_key, provider)
    stored = json.loads(existing) if existing is not None else None
    if api_key is None:
        if stored is None:
            raise CommandError(
                f"{provider} is not configured for platform {platform_id}; give --api-key-file"
            )
        sealed = stored["api_key"]
    else:
        sealed = keyring.seal(api_key.encode(), _aad(platform_id, provider))
    if keep_base_url and stored is not None:
        base_url = stored.get("base_url")
    record = {
        "api_key": sealed,
        "base_url": base_url,
        "enabled": enabled,
        "updated_at": int(time.time() * 1000),
    }
    client.hset(configs_key, provider, json.dumps(record))
    client.publish(native.redis_key("invalidation_channel"), f"providers:{platform_id}")
    return _shown(provider, record)


def _shown(provider: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "provider": provider,
        "enabled": bool(record.get("enabled", True)),
        "base_url": record.get("base_url"),
        "key_id": key_id_of(str(record.get("api_key", ""))),
        "updated_at": record.get("updated_at"),
    }


def list_provider_configs(client: redis.Redis, platform_id: str) -> list[dict[str, Any]]:
    """Return the configs of one platform in provider order, without their keys."""
    stored = client.hgetall(native.redis_key("provider_configs", platform_id))
    return [_shown(name, json.loads(stored[name])) for name in PROVIDERS if name in stored]


def _read_key(path: str) -> str:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise CommandError(f"could not read the API key file {path}: {exc.strerror}") from None
    key = text.strip()
    if not key or any(char.isspace() for char in key):
        raise CommandError(f"the API key file {path} must hold one key on one line")
    return key


def _require_platform(client: redis.Redis, platform_id: str) -> None:
    if not client.exists(native.redis_key("platform", platform_id)):
        raise CommandError(f"platform {platform_id} does not exist")


@registrar
def _add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "providers", parents=[common], help="set or list a platform's LLM provider configs"
    )
    actions = parser.add_subparsers(dest="providers_action", required=True, metavar="ACTION")
    set_parser = actions.add_parser(
        "set", parents=[common], help="store a provider's API key, base URL and enabled flag"
    )
    set_parser.add_argument("--platform", required=True, help="platform id (plat_...)")
    set_parser.add_argument("--provider", required=True, choices=PROVIDERS)
    set_parser.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="file holding the provider API key, or - for standard input; "
        "may be left out to keep the stored key",
    )
    set_parser.add_argument(
        "--base-url",
        help="API base URL, such as a proxy's, or `default` for the provider's public URL; "
        "left out, a stored config keeps its URL and a new one uses the public URL",
    )
    set_parser.add_argument(
        "--disabled", action="store_true", help="store the config but route no requests to it"
    )
    list_parser = actions.add_parser(
        "list", parents=[common], help="show provider configs without their keys"
    )
    list_parser.add_argument("--platform", required=True, help="platform id (plat_...)")


@command("providers")
def _providers(args: argparse.Namespace, settings: Settings) -> int:
    with open_store(settings) as (filled, client):
        _require_platform(client, args.platform)
        if args.providers_action == "set":
            return _set(args, filled, client)
        return _list(args, client)


def _set(args: argparse.Namespace, settings: Settings, client: redis.Redis) -> int:
    api_key = _read_key(args.api_key_file) if args.api_key_file else None
    base_url = None
    if args.base_url not in {None, "default"}:
        try:
            base_url = check_base_url(args.base_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    assert settings.master_key is not None  # open_store fills it in
    keyring = native.Keyring(settings.master_key, list(settings.retired_master_keys))
    shown = store_provider_config(
        client,
        keyring,
        args.platform,
        args.provider,
        api_key=api_key,
        base_url=base_url,
        enabled=not args.disabled,
        keep_base_url=args.base_url is None,
    )
    state = "enabled" if shown["enabled"] else "disabled"
    output(
        args,
        {"platform_id": args.platform, **shown},
        f"{args.provider} {state} for {args.platform} "
        f"(base URL {shown['base_url'] or 'default'}, key id {shown['key_id']})",
    )
    return 0


def _when(millis: Any) -> str:
    if not isinstance(millis, int):
        return "-"
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


def _list(args: argparse.Namespace, client: redis.Redis) -> int:
    configs = list_provider_configs(client, args.platform)
    lines = [f"{'PROVIDER':<10} {'ENABLED':<8} {'KEY ID':<9} {'UPDATED AT':<26} BASE URL"]
    for config in configs:
        lines.append(
            f"{config['provider']:<10} {('yes' if config['enabled'] else 'no'):<8} "
            f"{config['key_id']:<9} {_when(config['updated_at']):<26} "
            f"{config['base_url'] or 'default'}"
        )
    if not configs:
        lines = [f"no provider is configured for {args.platform}"]
    output(args, {"platform_id": args.platform, "data": configs}, "\n".join(lines))
    return 0
