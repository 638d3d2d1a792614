"""Route handlers of the management API, one module per resource."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar import Litestar

from control_plane import auth
from control_plane.api import (
    api_keys,
    budgets,
    end_users,
    health,
    logs,
    me,
    openapi,
    platforms,
    rate_limits,
    wallet,
)

# Every area appends its handlers here; `app.route_handlers` mounts them.
ROUTES: list[Any] = [health.healthz]
ROUTES += [platforms.router, api_keys.router, end_users.router, *me.ROUTES, *openapi.ROUTES]
ROUTES += [budgets.router, wallet.router, rate_limits.router]
ROUTES += [logs.router]

# Per-worker background services, entered in order when a worker starts.
LIFESPANS: list[Callable[[Litestar], AbstractAsyncContextManager[None]]] = [auth.lifespan]
