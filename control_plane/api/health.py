"""The control plane's own liveness probe, used by the supervisor and `/readyz`."""

from litestar import get


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
