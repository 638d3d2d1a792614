"""`responses`: OpenAI-compatible Responses API calls, made with an end-user key.

`input` is a string or a list of input items. Any other field of OpenAI's
request (`instructions`, `previous_response_id`, `tools`, `store`, ...) can be
passed as a keyword argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from assistiv._base import Call
from assistiv._models import Response, ResponseStreamEvent
from assistiv._retry import Safety
from assistiv._streaming import AsyncStream, Stream

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

PATH = "/v1/responses"
Input = str | Sequence[Mapping[str, Any]]


def _call(model: str, input: Input, stream: bool, params: dict[str, Any]) -> Call[Any]:
    items: Any = input if isinstance(input, str) else [dict(item) for item in input]
    body: dict[str, Any] = {**params, "model": model, "input": items}
    if stream:
        body["stream"] = True
    headers = {"Accept": "text/event-stream"} if stream else {}
    return Call("POST", PATH, Response, body=body, safety=Safety.INFERENCE, headers=headers)


class Responses:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    @overload
    def create(
        self, *, model: str, input: Input, stream: Literal[False] = False, **params: Any
    ) -> Response: ...

    @overload
    def create(
        self, *, model: str, input: Input, stream: Literal[True], **params: Any
    ) -> Stream[ResponseStreamEvent]: ...

    @overload
    def create(
        self, *, model: str, input: Input, stream: bool, **params: Any
    ) -> Response | Stream[ResponseStreamEvent]: ...

    def create(
        self, *, model: str, input: Input, stream: bool = False, **params: Any
    ) -> Response | Stream[ResponseStreamEvent]:
        """Create a response; with `stream=True`, an iterator of its events."""
        call = _call(model, input, stream, params)
        if stream:
            return self._client._stream(call, ResponseStreamEvent)
        response: Response = self._client._request(call)
        return response


class AsyncResponses:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    @overload
    async def create(
        self, *, model: str, input: Input, stream: Literal[False] = False, **params: Any
    ) -> Response: ...

    @overload
    async def create(
        self, *, model: str, input: Input, stream: Literal[True], **params: Any
    ) -> AsyncStream[ResponseStreamEvent]: ...

    @overload
    async def create(
        self, *, model: str, input: Input, stream: bool, **params: Any
    ) -> Response | AsyncStream[ResponseStreamEvent]: ...

    async def create(
        self, *, model: str, input: Input, stream: bool = False, **params: Any
    ) -> Response | AsyncStream[ResponseStreamEvent]:
        """Create a response; with `stream=True`, an async iterator of its events."""
        call = _call(model, input, stream, params)
        if stream:
            return await self._client._stream(call, ResponseStreamEvent)
        response: Response = await self._client._request(call)
        return response
