"""Iterators over server-sent events: streamed chat completions and responses.

The gateway ends a chat stream with `data: [DONE]`, and a Responses stream
after its terminal event. A failure after the stream has started arrives as one
last event, `data: {"error": {...}}` (or a Responses `error` event), which is
raised as `AssistivError` with `status` None.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
import msgspec
from httpx_sse import EventSource, ServerSentEvent

from assistiv._errors import (
    AssistivConnectionError,
    AssistivError,
    AssistivTimeoutError,
    error_from_event,
)

T = TypeVar("T")

_DONE = "[DONE]"


def _decode_event(event: ServerSentEvent, event_type: type[T], request_id: str | None) -> T:
    """Decode one event's data, or raise the error it carries."""
    try:
        raw: Any = msgspec.json.decode(event.data)
    except msgspec.DecodeError as exc:
        raise AssistivError(
            f"the stream sent an event that is not JSON: {event.data[:200]!r}",
            code="invalid_response",
            request_id=request_id,
        ) from exc
    if isinstance(raw, dict):
        if isinstance(raw.get("error"), dict):
            raise error_from_event({"request_id": request_id, **raw["error"]})
        if raw.get("type") == "error" or event.event == "error":
            raise error_from_event({"request_id": request_id, **raw})
    try:
        return msgspec.convert(raw, type=event_type)
    except msgspec.ValidationError as exc:
        raise AssistivError(
            f"the stream sent an event that could not be read: {exc}",
            code="invalid_response",
            request_id=request_id,
        ) from exc


def _transport_error(exc: httpx.TransportError) -> AssistivError:
    cls = (
        AssistivTimeoutError if isinstance(exc, httpx.TimeoutException) else AssistivConnectionError
    )
    return cls(f"the stream broke off: {exc}", code="connection_error")


class Stream(Generic[T]):
    """The events of a streamed call, decoded as `T`. Close it, or use it in `with`,
    to release the connection when you stop before the end."""

    def __init__(self, response: httpx.Response, event_type: type[T]) -> None:
        self.response = response
        self.request_id = response.headers.get("x-request-id")
        self._event_type = event_type
        self._events = self._iterate()

    def __iter__(self) -> Iterator[T]:
        return self._events

    def __next__(self) -> T:
        return next(self._events)

    def _iterate(self) -> Iterator[T]:
        try:
            for event in EventSource(self.response).iter_sse():
                if event.data == _DONE:
                    break
                if not event.data:
                    continue
                yield _decode_event(event, self._event_type, self.request_id)
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        finally:
            self.response.close()

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """The events of a streamed call, decoded as `T`, for `async for`. Close it with
    `aclose()`, or use it in `async with`, when you stop before the end."""

    def __init__(self, response: httpx.Response, event_type: type[T]) -> None:
        self.response = response
        self.request_id = response.headers.get("x-request-id")
        self._event_type = event_type
        self._events = self._iterate()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._events

    async def __anext__(self) -> T:
        return await self._events.__anext__()

    async def _iterate(self) -> AsyncIterator[T]:
        try:
            async for event in EventSource(self.response).aiter_sse():
                if event.data == _DONE:
                    break
                if not event.data:
                    continue
                yield _decode_event(event, self._event_type, self.request_id)
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
