"""The `assistiv-gateway` command.

Every command accepts `--json`, which turns its output into JSON on stdout.
Errors go to stderr as one line (or a JSON object with `--json`) and exit
with status 2 for bad settings or arguments, 1 for anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from control_plane import __version__, logsetup
from control_plane.settings import Settings, SettingsError, load_settings

Command = Callable[[argparse.Namespace, Settings], int]
_COMMANDS: dict[str, Command] = {}
_REGISTRARS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A command failed for a reason the user can fix; exit status 1."""


def command(name: str) -> Callable[[Command], Command]:
    """Register `function` as the implementation of subcommand `name`."""

    def register(function: Command) -> Command:
        _COMMANDS[name] = function
        return function

    return register


def registrar(
    function: Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None],
) -> Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]:
    """Register a function that adds subcommands to the parser."""
    _REGISTRARS.append(function)
    return function


def output(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print `data` as JSON with `--json`, else `text`."""
    if args.json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print machine-readable JSON on stdout",
    )
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="TOML settings file (ASSISTIV_CONFIG)",
    )
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="data directory for generated secrets and the embedded store (ASSISTIV_DATA_DIR)",
    )
    return common


@registrar
def _add_core(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = subparsers.add_parser("serve", parents=[common], help="start the gateway")
    serve.add_argument("--host", help="public address to bind (ASSISTIV_HOST, 127.0.0.1)")
    serve.add_argument("--port", help="public port; 0 picks a free one (ASSISTIV_PORT, 8080)")
    serve.add_argument(
        "--workers",
        dest="control_plane_workers",
        help="control-plane worker processes (ASSISTIV_CONTROL_PLANE_WORKERS, 1)",
    )
    subparsers.add_parser("version", parents=[common], help="print the gateway's version")


@command("serve")
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # Importing `demo` registers its provisioning hook with the supervisor.
    from control_plane import datadir, demo, native, supervisor  # noqa: F401, PLC0415 - heavy imports
    from control_plane.embedded_redis import RedisStartError  # noqa: PLC0415

    failures = (supervisor.ServeError, datadir.DataDirLocked, RedisStartError, native.StartupError)
    try:
        return supervisor.serve(settings, as_json=args.json)
    except failures as exc:
        raise CommandError(str(exc)) from None


@command("version")
def _version(args: argparse.Namespace, _: Settings) -> int:
    from control_plane import native  # noqa: PLC0415

    output(
        args,
        {"version": __version__, "rust_core": native.VERSION},
        f"assistiv-gateway {__version__} (rust_core {native.VERSION})",
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    # Importing the command modules runs their @registrar and @command decorators.
    from control_plane import commands  # noqa: F401, PLC0415

    common = _common()
    parser = argparse.ArgumentParser(
        prog="assistiv-gateway",
        description="Multi-tenant LLM API gateway.",
        parents=[common],
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _REGISTRARS:
        add(subparsers, common)
    return parser


def _fail(as_json: bool, kind: str, message: str, status: int) -> int:
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": kind, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"assistiv-gateway: {message}\n")
    return status


_SETTING_FLAGS = ("host", "port", "control_plane_workers", "data_dir")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    flags = {name: getattr(args, name, None) for name in _SETTING_FLAGS}
    try:
        settings = load_settings(flags, config_file=getattr(args, "config", None))
    except SettingsError as exc:
        return _fail(args.json, "invalid_settings", str(exc), 2)
    logsetup.configure(settings.log_level, settings.log_format)
    try:
        return _COMMANDS[args.command](args, settings)
    except SettingsError as exc:
        return _fail(args.json, "invalid_settings", str(exc), 2)
    except CommandError as exc:
        return _fail(args.json, "command_failed", str(exc), 1)
    except Exception as exc:
        from control_plane.commands.store import StoreUnavailable  # noqa: PLC0415

        if isinstance(exc, StoreUnavailable):
            return _fail(args.json, "store_unavailable", str(exc), 1)
        raise
    except KeyboardInterrupt:
        return 130
