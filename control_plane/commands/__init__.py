"""Operator subcommands of `assistiv-gateway`; importing a module registers it."""
