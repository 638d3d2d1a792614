"""The Litestar application behind the data plane's front door.

granian imports `create_app` as a factory in each worker process; the worker
reads the settings the supervisor wrote (`ASSISTIV_SETTINGS_FILE`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from control_plane import __version__, logsetup, native
from control_plane.api import LIFESPANS, ROUTES, testing
from control_plane.context import AppContext
from control_plane.errors import EXCEPTION_HANDLERS
from control_plane.settings import Settings, SettingsError

_REQUEST_ID_MAX = 64


def _valid_request_id(value: str) -> bool:
    return 0 < len(value) <= _REQUEST_ID_MAX and value.replace("_", "").isalnum()


class RequestIdMiddleware:
    """Stores the request id in the scope state and sets `X-Request-Id` on every answer.

    The data plane sends the id it minted; requests that arrive some other way get a new one.
    Wrapping the whole app covers 404 and 405 answers, which Litestar's per-route middleware
    would miss.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        request_id = incoming if _valid_request_id(incoming) else native.new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id  # type: ignore[typeddict-item]
        body_read = False

        async def tracking_receive() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders(message)["x-request-id"] = request_id
                if message["status"] >= 400 and not body_read:
                    await drain()
            await send(message)

        async def drain() -> None:
            # An error response sent before the body was read (a 401 before a POST body, say)
            # makes granian close the connection while the data plane is still writing the
            # body, so the data plane loses the response. The body is at most `max_body_bytes`.
            while not body_read:
                await tracking_receive()

        await self.app(scope, tracking_receive, send_with_id)


def load_worker_settings() -> Settings:
    path = os.environ.get("ASSISTIV_SETTINGS_FILE")
    if not path:
        raise SettingsError(["ASSISTIV_SETTINGS_FILE is not set; start the gateway with `serve`"])
    return Settings.from_json(Path(path).read_text())


def route_handlers(settings: Settings) -> list[Any]:
    handlers: list[Any] = list(ROUTES)
    if settings.test_routes:
        handlers.extend(testing.ROUTES)
    return handlers


def build_app(settings: Settings) -> Litestar:
    context = AppContext.create(settings)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await context.close()

    return Litestar(
        route_handlers=route_handlers(settings),
        dependencies={"ctx": Provide(lambda: context, use_cache=True, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan, *LIFESPANS],
        request_max_body_size=settings.max_body_bytes,
        # `logsetup.configure` already set the process's log format; Litestar's default config
        # would add a second handler in its own format. Unexpected errors are logged by the
        # handlers in `control_plane.errors`.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Assistiv Gateway management API",
            version=__version__,
            path="/_openapi",
        ),
        state={"context": context},
    )


def create_app() -> ASGIApp:
    settings = load_worker_settings()
    logsetup.configure(settings.log_level, settings.log_format)
    return RequestIdMiddleware(build_app(settings))
