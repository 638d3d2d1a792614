"""The public port: health probes, the error envelope, forwarding to the control plane."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fixtures.tenancy import Tenant
from tests.harness import Gateway, RedisServer, wait_until


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == request_id
    assert error["message"]
    return error


def test_healthz_ok(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


def test_readyz_ok(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize("path", ["/nope", "/v1/does-not-exist", "/v1/platforms"])
def test_unknown_path_enveloped(client: httpx.Client, path: str) -> None:
    error = assert_envelope(client.get(path), 404, "not_found")
    assert error["type"] == "not_found_error"
    assert path in error["message"]


def test_wrong_method_on_data_plane_route(client: httpx.Client) -> None:
    response = client.delete("/healthz")
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


def test_wrong_method_on_control_plane_route(client: httpx.Client) -> None:
    assert_envelope(client.put("/_test/headers", content=b"x"), 405, "method_not_allowed")


def test_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_forwarded_headers_reach_control_plane(client: httpx.Client) -> None:
    response = client.get("/_test/headers", headers={"X-Forwarded-For": "10.1.2.3"})
    assert response.status_code == 200
    received = response.json()
    assert received["x-forwarded-for"] == "10.1.2.3, 127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["x-request-id"] == response.headers["x-request-id"]


def test_hop_by_hop_headers_not_forwarded(client: httpx.Client) -> None:
    response = client.get(
        "/_test/headers", headers={"Connection": "keep-alive, x-drop-me", "X-Drop-Me": "1"}
    )
    received = response.json()
    assert "x-drop-me" not in received
    assert "keep-alive" not in received.get("connection", "")


def read_until(sock: socket.socket, marker: bytes, buffer: bytes = b"") -> bytes:
    while marker not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before {marker!r}; got {buffer!r}"
        buffer += chunk
    return buffer


def test_streams_both_ways(gateway: Gateway) -> None:
    """The echo of the first body chunk comes back before the client sends the second."""
    host, port = "127.0.0.1", gateway.ready["port"]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /_test/echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.sendall(b"8\r\nchunk-0;\r\n")
        head = read_until(sock, b"chunk-0;")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"transfer-encoding: chunked" in head.lower()
        assert b"x-request-id: req_" in head.lower()
        # Only now does the rest of the body go out.
        sock.sendall(b"8\r\nchunk-1;\r\n0\r\n\r\n")
        rest = read_until(sock, b"0\r\n\r\n", head)
        assert b"chunk-1;" in rest


def test_truncated_body_is_client_error(gateway: Gateway, tenant: Tenant) -> None:
    """A body that ends before its Content-Length is the client's fault, not an outage."""
    host, port = "127.0.0.1", gateway.ready["port"]
    # A valid key, so the route reads the body instead of rejecting the request first.
    request = (
        f"POST {tenant.base}/end-users HTTP/1.1\r\nHost: gw\r\n"
        f"Authorization: Bearer {tenant.key}\r\nContent-Length: 100\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request.encode() + b'{"external_id"')
        sock.shutdown(socket.SHUT_WR)
        head = read_until(sock, b"\r\n\r\n")
        headers, _, body = head.partition(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed mid-body; got {body!r}"
            body += chunk
    assert headers.startswith(b"HTTP/1.1 400"), head
    error = httpx.Response(400, content=body).json()["error"]
    assert error["code"] == "invalid_request"
    assert error["request_id"].startswith("req_")


def test_large_streamed_response(client: httpx.Client) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    pieces = [payload[i : i + 65536] for i in range(0, len(payload), 65536)]
    with client.stream("POST", "/_test/echo", content=iter(pieces)) as response:
        echoed = b"".join(response.iter_bytes())
    assert echoed == payload


def test_body_over_limit_rejected(gateway_factory: GatewayFactory) -> None:
    small = gateway_factory(ASSISTIV_MAX_BODY_BYTES="2048")
    with small.client() as http:
        response = http.post("/_test/echo", content=b"x" * 4096)
    assert_envelope(response, 413, "payload_too_large")


def test_readyz_follows_redis(gateway_factory: GatewayFactory, tmp_path_factory) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("flaky-redis"))
    redis.start()
    try:
        instance: Gateway = gateway_factory(redis_url=redis.url)
        with instance.client() as http:
            assert http.get("/readyz").status_code == 200
            redis.stop()
            down = http.get("/readyz")
            error = assert_envelope(down, 503, "not_ready")
            assert "Redis" in error["message"]
            assert http.get("/healthz").status_code == 200
            redis.start()
            assert wait_until(lambda: http.get("/readyz").status_code == 200, timeout=15)
    finally:
        redis.stop()


def test_unread_bodies_keep_forwarding(gateway: Gateway, tenant: Tenant) -> None:
    """The control plane may reject a request before reading its body; none may fail with 503."""
    path = f"{tenant.base}/end-users"

    def post_many(worker: int) -> list[int]:
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            return [
                client.post(path, json={"external_id": f"user-{worker}-{i}"}).status_code
                for i in range(100)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for batch in pool.map(post_many, range(8)) for status in batch]
    assert set(statuses) == {401}
