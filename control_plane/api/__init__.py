"""Route handlers of the management API, one module per resource."""

from typing import Any

from control_plane.api import health

# Every area appends its handlers here; `app.route_handlers` mounts them.
ROUTES: list[Any] = [health.healthz]
