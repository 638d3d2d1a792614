"""`chat.completions`: OpenAI-compatible chat completions, called with an end-user key.

Any field of OpenAI's request (`temperature`, `tools`, `response_format`, ...)
can be passed as a keyword argument; the gateway routes by `model`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from assistiv._base import Call
from assistiv._models import ChatCompletion, ChatCompletionChunk
from assistiv._retry import Safety
from assistiv._streaming import AsyncStream, Stream

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

PATH = "/v1/chat/completions"


def _call(
    model: str, messages: Sequence[Mapping[str, Any]], stream: bool, params: dict[str, Any]
) -> Call[Any]:
    body: dict[str, Any] = {**params, "model": model, "messages": [dict(m) for m in messages]}
    if stream:
        body["stream"] = True
    headers = {"Accept": "text/event-stream"} if stream else {}
    return Call("POST", PATH, ChatCompletion, body=body, safety=Safety.INFERENCE, headers=headers)


class Completions:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        **params: Any,
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        **params: Any,
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **params: Any,
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Create a chat completion; with `stream=True`, an iterator of its chunks."""
        call = _call(model, messages, stream, params)
        if stream:
            return self._client._stream(call, ChatCompletionChunk)
        completion: ChatCompletion = self._client._request(call)
        return completion


class Chat:
    def __init__(self, client: Assistiv) -> None:
        self.completions = Completions(client)


class AsyncCompletions:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        **params: Any,
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion; with `stream=True`, an async iterator of its chunks."""
        call = _call(model, messages, stream, params)
        if stream:
            return await self._client._stream(call, ChatCompletionChunk)
        completion: ChatCompletion = await self._client._request(call)
        return completion


class AsyncChat:
    def __init__(self, client: AsyncAssistiv) -> None:
        self.completions = AsyncCompletions(client)
