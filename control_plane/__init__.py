"""Assistiv Gateway's control plane: CLI, supervisor and management API."""

__version__ = "0.1.0"
