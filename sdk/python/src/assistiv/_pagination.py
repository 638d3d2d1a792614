"""Lists that follow `next_cursor` from page to page.

Nothing is requested until iteration starts; each page is fetched when the
items of the previous one have been consumed. An item that existed when the
first page was read is returned exactly once, also while items are added or
removed during the walk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from assistiv._models import Page

Item = TypeVar("Item")


class Paginator(Generic[Item]):
    """Every item of a list, page after page: `for item in client.end_users.list()`."""

    def __init__(self, fetch: Callable[[str | None], Page[Item]]) -> None:
        self._fetch = fetch

    def __iter__(self) -> Iterator[Item]:
        for page in self.pages():
            yield from page.data

    def pages(self) -> Iterator[Page[Item]]:
        """Yield the pages themselves, for callers that handle one page at a time."""
        cursor: str | None = None
        while True:
            page = self._fetch(cursor)
            yield page
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor

    def first_page(self) -> Page[Item]:
        """Fetch the first page only."""
        return self._fetch(None)


class AsyncPaginator(Generic[Item]):
    """Every item of a list, page after page: `async for item in client.end_users.list()`."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[Item]]]) -> None:
        self._fetch = fetch

    async def __aiter__(self) -> AsyncIterator[Item]:
        async for page in self.pages():
            for item in page.data:
                yield item

    async def pages(self) -> AsyncIterator[Page[Item]]:
        """Yield the pages themselves, for callers that handle one page at a time."""
        cursor: str | None = None
        while True:
            page = await self._fetch(cursor)
            yield page
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def first_page(self) -> Page[Item]:
        """Fetch the first page only."""
        return await self._fetch(None)
