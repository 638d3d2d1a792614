"""`assistiv-gateway platforms …`: provision platforms and their keys.

Platforms are created by the operator, never through the API. Creating one
prints its id and its first platform key; the raw key is shown this once.

    platforms create --name NAME [--owner EMAIL]
    platforms list [--owner EMAIL]
    platforms keys create --platform ID [--name NAME]
    platforms keys list --platform ID
    platforms keys revoke --platform ID --key KEY_ID
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from control_plane.cli import CommandError, command, output, registrar
from control_plane.commands.store import open_store
from control_plane.settings import Settings
from control_plane.store.tenancy import NewKey, Platform, PlatformNotFound, TenancyStore, is_id
from control_plane.store.times import iso_ms, iso_ms_or_none

T = TypeVar("T")

_NAME_MAX = 100
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EMAIL_MAX = 254


def _platform_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > _NAME_MAX:
        raise argparse.ArgumentTypeError(f"must be 1 to {_NAME_MAX} characters")
    return name


def _email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > _EMAIL_MAX or not _EMAIL.fullmatch(email):
        raise argparse.ArgumentTypeError(f"{raw!r} is not an email address")
    return email


def _platform_id(raw: str) -> str:
    if not is_id(raw, "plat"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a platform id (plat_…)")
    return raw


def _key_id(raw: str) -> str:
    if not is_id(raw, "key"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a key id (key_…)")
    return raw


@registrar
def _add_platforms(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    platforms = subparsers.add_parser(
        "platforms", parents=[common], help="create and list platforms and their keys"
    )
    actions = platforms.add_subparsers(dest="platforms_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", parents=[common], help="create a platform and print its first key"
    )
    create.add_argument("--name", required=True, type=_platform_name, help="platform name")
    create.add_argument(
        "--owner",
        type=_email,
        metavar="EMAIL",
        help="owner email; platforms of one owner share their platform keys "
        "(default: a new owner of its own)",
    )

    listing = actions.add_parser("list", parents=[common], help="list platforms")
    listing.add_argument(
        "--owner", type=_email, metavar="EMAIL", help="only the platforms of this owner"
    )

    keys = actions.add_parser(
        "keys", parents=[common], help="create, list and revoke platform keys"
    )
    key_actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    key_create = key_actions.add_parser("create", parents=[common], help="create a platform key")
    key_create.add_argument(
        "--platform", required=True, type=_platform_id, metavar="ID", help="platform id"
    )
    key_create.add_argument("--name", type=_platform_name, help="label shown in key lists")
    key_list = key_actions.add_parser("list", parents=[common], help="list a platform's keys")
    key_list.add_argument(
        "--platform", required=True, type=_platform_id, metavar="ID", help="platform id"
    )
    key_revoke = key_actions.add_parser("revoke", parents=[common], help="revoke a platform key")
    key_revoke.add_argument(
        "--platform", required=True, type=_platform_id, metavar="ID", help="platform id"
    )
    key_revoke.add_argument(
        "--key", required=True, type=_key_id, metavar="KEY_ID", help="key id (key_…)"
    )


def _with_store(settings: Settings, work: Callable[[TenancyStore], Awaitable[T]]) -> T:
    """Run `work` against the state store the settings point to."""
    with open_store(settings) as (resolved, _):

        async def run() -> T:
            client = aioredis.Redis.from_url(
                str(resolved.redis_url),
                decode_responses=True,
                socket_timeout=5,
                socket_connect_timeout=2,
            )
            try:
                return await work(TenancyStore(client, str(resolved.key_pepper)))
            finally:
                await client.aclose()

        return asyncio.run(run())


def _platform_json(platform: Platform, email: str | None) -> dict[str, Any]:
    return {
        "id": platform.id,
        "name": platform.name,
        "slug": platform.slug,
        "owner_id": platform.owner_id,
        "owner_email": email,
        "created_at": iso_ms(platform.created_at),
    }


def _new_key_json(new: NewKey) -> dict[str, Any]:
    return {
        "id": new.meta.id,
        "name": new.meta.name,
        "key_prefix": new.meta.key_prefix,
        "raw_key": new.raw_key,
        "created_at": iso_ms(new.meta.created_at),
    }


def _create(args: argparse.Namespace, settings: Settings) -> int:
    platform, key = _with_store(
        settings, lambda store: store.create_platform(args.name, args.owner)
    )
    data = {"platform": _platform_json(platform, args.owner), "api_key": _new_key_json(key)}
    text = (
        f"platform {platform.id} ({platform.slug}) created\n"
        f"platform key {key.meta.id}, shown only now: {key.raw_key}"
    )
    output(args, data, text)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: TenancyStore) -> tuple[list[Platform], dict[str, str | None]]:
        owner_id = None
        if args.owner:
            owner_id = await store.find_owner(args.owner)
            if owner_id is None:
                return [], {}
        platforms = await store.list_platforms(owner_id)
        return platforms, await store.owner_emails({p.owner_id for p in platforms})

    platforms, emails = _with_store(settings, work)
    data = [_platform_json(platform, emails.get(platform.owner_id)) for platform in platforms]
    lines = [
        f"{item['id']}  {item['slug']}  {item['owner_email'] or item['owner_id']}  {item['name']}"
        for item in data
    ]
    output(args, data, "\n".join(lines) or "no platforms")
    return 0


def _key_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key = _with_store(
            settings, lambda store: store.create_platform_key(args.platform, args.name)
        )
    except PlatformNotFound:
        raise CommandError(f"platform {args.platform} not found") from None
    output(
        args,
        {"platform_id": args.platform, "api_key": _new_key_json(key)},
        f"platform key {key.meta.id}, shown only now: {key.raw_key}",
    )
    return 0


def _key_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: TenancyStore) -> list[dict[str, Any]]:
        if await store.get_platform(args.platform) is None:
            raise CommandError(f"platform {args.platform} not found")
        keys = await store.list_platform_keys(args.platform)
        return [
            {
                "id": listed.meta.id,
                "name": listed.meta.name,
                "key_prefix": listed.meta.key_prefix,
                "created_at": iso_ms(listed.meta.created_at),
                "last_used_at": iso_ms_or_none(listed.last_used_at),
            }
            for listed in sorted(keys, key=lambda listed: listed.meta.id)
        ]

    data = _with_store(settings, work)
    lines = [
        f"{item['id']}  {item['key_prefix']}…  {item['name'] or '-'}  "
        f"last used {item['last_used_at'] or 'never'}"
        for item in data
    ]
    output(args, data, "\n".join(lines) or "no keys")
    return 0


def _key_revoke(args: argparse.Namespace, settings: Settings) -> int:
    revoked = _with_store(
        settings, lambda store: store.revoke_platform_key(args.platform, args.key)
    )
    if not revoked:
        raise CommandError(f"key {args.key} not found on platform {args.platform}")
    output(
        args,
        {"platform_id": args.platform, "key_id": args.key, "revoked": True},
        f"key {args.key} revoked",
    )
    return 0


_ACTIONS = {
    ("create", None): _create,
    ("list", None): _list,
    ("keys", "create"): _key_create,
    ("keys", "list"): _key_list,
    ("keys", "revoke"): _key_revoke,
}


@command("platforms")
def _platforms(args: argparse.Namespace, settings: Settings) -> int:
    action = (args.platforms_command, getattr(args, "keys_command", None))
    return _ACTIONS[action](args, settings)
