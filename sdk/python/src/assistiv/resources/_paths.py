"""Paths of the management API, with each id escaped as one path segment."""

from __future__ import annotations

from urllib.parse import quote


def platform_path(platform_id: str, *parts: str) -> str:
    """`/v1/platforms/{platform_id}/{parts...}`; every part is escaped."""
    segments = [quote(part, safe="") for part in (platform_id, *parts)]
    return "/v1/platforms/" + "/".join(segments)


def end_user_path(platform_id: str, end_user_id: str, *parts: str) -> str:
    """`/v1/platforms/{platform_id}/end-users/{end_user_id}/{parts...}`."""
    return platform_path(platform_id, "end-users", end_user_id, *parts)
