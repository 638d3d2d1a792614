"""`rate_limits`: the platform's default limits per end user, and per-end-user overrides.

Each limit is a token bucket per end user; None is unlimited. Changes apply
from the next request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from assistiv._base import Call, without_unset
from assistiv._models import EndUserRateLimits, RateLimits
from assistiv.resources._paths import end_user_path, platform_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


def _get_defaults(platform_id: str) -> Call[RateLimits]:
    return Call("GET", platform_path(platform_id, "rate-limits"), RateLimits)


def _set_defaults(platform_id: str, limits: dict[str, int | None]) -> Call[RateLimits]:
    return Call("PUT", platform_path(platform_id, "rate-limits"), RateLimits, body=limits)


def _get(platform_id: str, end_user_id: str) -> Call[EndUserRateLimits]:
    return Call("GET", end_user_path(platform_id, end_user_id, "rate-limits"), EndUserRateLimits)


def _set(platform_id: str, end_user_id: str, limits: dict[str, Any]) -> Call[EndUserRateLimits]:
    path = end_user_path(platform_id, end_user_id, "rate-limits")
    return Call("PUT", path, EndUserRateLimits, body=without_unset(limits))


def _clear(platform_id: str, end_user_id: str) -> Call[None]:
    return Call("DELETE", end_user_path(platform_id, end_user_id, "rate-limits"), None)


class RateLimitsResource:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def get_defaults(self) -> RateLimits:
        """Return the limits of every end user without an override."""
        return self._client._request(_get_defaults(self._client._platform()))

    def set_defaults(
        self,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        requests_per_day: int | None = None,
    ) -> RateLimits:
        """Replace the defaults; a limit left out or None is unlimited."""
        limits = {
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "requests_per_day": requests_per_day,
        }
        return self._client._request(_set_defaults(self._client._platform(), limits))

    def get(self, end_user_id: str) -> EndUserRateLimits:
        """Return the end user's limits in force: its override where set, else the defaults."""
        return self._client._request(_get(self._client._platform(), end_user_id))

    def set(
        self,
        end_user_id: str,
        *,
        requests_per_minute: int | Unset | None = UNSET,
        tokens_per_minute: int | Unset | None = UNSET,
        requests_per_day: int | Unset | None = UNSET,
    ) -> EndUserRateLimits:
        """Replace the end user's override: a limit given overrides the default (None for
        unlimited), a limit left out follows the default."""
        limits = {
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "requests_per_day": requests_per_day,
        }
        return self._client._request(_set(self._client._platform(), end_user_id, limits))

    def clear(self, end_user_id: str) -> None:
        """Remove the end user's override, returning it to the defaults."""
        self._client._request(_clear(self._client._platform(), end_user_id))


class AsyncRateLimitsResource:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def get_defaults(self) -> RateLimits:
        """Return the limits of every end user without an override."""
        return await self._client._request(_get_defaults(await self._client._platform()))

    async def set_defaults(
        self,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        requests_per_day: int | None = None,
    ) -> RateLimits:
        """Replace the defaults; a limit left out or None is unlimited."""
        limits = {
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "requests_per_day": requests_per_day,
        }
        return await self._client._request(_set_defaults(await self._client._platform(), limits))

    async def get(self, end_user_id: str) -> EndUserRateLimits:
        """Return the end user's limits in force: its override where set, else the defaults."""
        return await self._client._request(_get(await self._client._platform(), end_user_id))

    async def set(
        self,
        end_user_id: str,
        *,
        requests_per_minute: int | Unset | None = UNSET,
        tokens_per_minute: int | Unset | None = UNSET,
        requests_per_day: int | Unset | None = UNSET,
    ) -> EndUserRateLimits:
        """Replace the end user's override: a limit given overrides the default (None for
        unlimited), a limit left out follows the default."""
        limits = {
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "requests_per_day": requests_per_day,
        }
        platform_id = await self._client._platform()
        return await self._client._request(_set(platform_id, end_user_id, limits))

    async def clear(self, end_user_id: str) -> None:
        """Remove the end user's override, returning it to the defaults."""
        await self._client._request(_clear(await self._client._platform(), end_user_id))
