"""Operator subcommands of `assistiv-gateway`; importing a module registers it."""

from control_plane.commands import platforms  # noqa: F401
from control_plane.commands import simulator  # noqa: F401
