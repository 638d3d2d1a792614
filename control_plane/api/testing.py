"""Routes mounted only with ASSISTIV_TEST_ROUTES=true, for the test suite.

`POST /_test/echo` streams the request body back chunk by chunk as it arrives,
which lets a test prove that the front door streams in both directions. It is
a raw ASGI handler because Litestar's `Stream` response listens for client
disconnects on the same `receive` channel and would swallow body chunks.
`GET /_test/headers` returns the request headers the control plane received.
"""

from litestar import Request, asgi, get
from litestar.types import Receive, Scope, Send


@asgi("/_test/echo", include_in_schema=False)
async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 405, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers = [(b"content-type", b"application/octet-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        more = message.get("more_body", False)
        await send(
            {"type": "http.response.body", "body": message.get("body", b""), "more_body": more}
        )
        if not more:
            return


@get("/_test/headers", include_in_schema=False)
async def headers(request: Request) -> dict[str, str]:
    return dict(request.headers.items())


ROUTES = [echo, headers]
