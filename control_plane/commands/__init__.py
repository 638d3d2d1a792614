"""Operator subcommands of `assistiv-gateway`; importing a module registers it."""

from control_plane.commands import (
    platforms,  # noqa: F401
    providers,  # noqa: F401
    simulator,  # noqa: F401
    wallet,  # noqa: F401
)
