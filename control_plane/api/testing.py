"""Routes mounted only with ASSISTIV_TEST_ROUTES=true, for the test suite.

`POST /_test/echo` streams the request body back chunk by chunk as it arrives,
which lets a test prove that the front door streams in both directions.
`GET /_test/headers` returns the request headers the control plane received.
"""

from collections.abc import AsyncIterator

from litestar import Request, get, post
from litestar.response import Stream


@post("/_test/echo", include_in_schema=False)
async def echo(request: Request) -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    return Stream(chunks(), media_type="application/octet-stream")


@get("/_test/headers", include_in_schema=False)
async def headers(request: Request) -> dict[str, str]:
    return dict(request.headers.items())


ROUTES = [echo, headers]
