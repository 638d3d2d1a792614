"""`assistiv-gateway serve`: start the state store, the control plane and the
data plane, wait for SIGINT or SIGTERM, then stop them in reverse order.

Children run in their own sessions so that a terminal's Ctrl-C reaches only
this process, which stops the data plane first (draining in-flight requests),
then the control plane, then the embedded Redis. Each child also gets
PR_SET_PDEATHSIG, so none outlives a supervisor that is killed outright.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import redis

from control_plane import datadir, native
from control_plane.embedded_redis import EmbeddedRedis, die_with_parent
from control_plane.settings import Settings

logger = logging.getLogger(__name__)

SETTINGS_FILE_VARIABLE = "ASSISTIV_SETTINGS_FILE"
# Unix socket paths are limited to 108 bytes on Linux.
_MAX_SOCKET_PATH = 100

# Callables run once the gateway is up (the demo provisioning registers here).
after_start_hooks: list[Callable[[Settings], dict[str, Any] | None]] = []


class ServeError(Exception):
    """The gateway could not start; the message says why."""


def _emit(as_json: bool, event: dict[str, Any]) -> None:
    """Print a machine-readable line on stdout when `--json` was given."""
    if as_json:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def _check_external_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
        raise ServeError(f"Redis at ASSISTIV_REDIS_URL is unreachable: {exc}") from None
    finally:
        client.close()


class ControlPlaneProcess:
    """The granian server running the Litestar app on a unix socket."""

    def __init__(self, settings: Settings, settings_file: Path) -> None:
        self.settings = settings
        self.settings_file = settings_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        socket_path = str(self.settings.control_plane_socket)
        command = [
            sys.executable, "-m", "granian",
            "--interface", "asgi",
            "--factory",
            "--uds", socket_path,
            "--workers", str(self.settings.control_plane_workers),
            "--log-level", self.settings.log_level,
            "--no-access-log",
            "--no-ws",
            "--respawn-failed-workers",
            "control_plane.app:create_app",
        ]  # fmt: skip
        env = {**os.environ, SETTINGS_FILE_VARIABLE: str(self.settings_file)}
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            # granian logs to stdout; keep stdout for `--json` events only.
            stdout=sys.stderr,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads exist yet in the supervisor
        )
        transport = httpx.HTTPTransport(uds=socket_path)
        deadline = time.monotonic() + timeout
        with httpx.Client(transport=transport, base_url="http://control-plane") as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServeError(f"control plane exited with status {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/healthz", timeout=1).status_code == 200:
                        logger.info(
                            "control plane started: %d granian worker(s) on %s",
                            self.settings.control_plane_workers,
                            socket_path,
                        )
                        return
                time.sleep(0.05)
        raise ServeError(f"control plane did not become healthy within {timeout:.0f} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.error("control plane ignored SIGTERM for %.0f s; killing it", timeout)
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        logger.info("control plane stopped")


class _StopSignal:
    """Turns SIGINT and SIGTERM into an event the main loop waits on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: int | None = None

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = signum
        self.event.set()


def _socket_path(preferred_dir: Path, fallback_dir: Path, name: str) -> Path:
    preferred = preferred_dir / name
    return preferred if len(str(preferred)) <= _MAX_SOCKET_PATH else fallback_dir / name


@contextlib.contextmanager
def _runtime_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="assistiv-") as path:
        os.chmod(path, 0o700)
        yield Path(path)


def _start_store(
    settings: Settings, data_dir: Path, runtime: Path, stack: contextlib.ExitStack
) -> tuple[Settings, EmbeddedRedis | None]:
    if settings.redis_url:
        _check_external_redis(settings.redis_url)
        logger.info("using the external Redis from ASSISTIV_REDIS_URL")
        return settings, None
    store = EmbeddedRedis(
        data_dir / "redis", socket_path=_socket_path(data_dir, runtime, "redis.sock")
    )
    store.start()
    stack.callback(store.stop)
    url_file = data_dir / datadir.REDIS_URL_FILE
    url_file.write_text(store.url)
    stack.callback(url_file.unlink, missing_ok=True)
    return msgspec.structs.replace(settings, redis_url=store.url), store


def serve(settings: Settings, as_json: bool = False) -> int:
    """Run the gateway until a signal arrives; return the process exit status."""
    stop = _StopSignal()
    stop.install()
    data_dir = datadir.ensure(settings)
    settings = datadir.with_secrets(settings, data_dir)

    with contextlib.ExitStack() as stack:
        stack.enter_context(datadir.lock(data_dir))
        runtime = stack.enter_context(_runtime_dir())
        settings, store = _start_store(settings, data_dir, runtime, stack)
        settings = msgspec.structs.replace(
            settings, control_plane_socket=str(runtime / "control.sock")
        )
        settings_file = runtime / "settings.json"
        settings_file.write_text(settings.to_json())
        settings_file.chmod(0o600)

        control = ControlPlaneProcess(settings, settings_file)
        stack.callback(control.stop)
        control.start()

        native.init_logging(settings.log_level, settings.log_format)
        data_plane = native.start_data_plane(
            settings.data_plane_json(), settings.shutdown_grace_seconds
        )
        stack.callback(data_plane.stop, settings.shutdown_grace_seconds)
        url = f"http://{settings.host}:{data_plane.port}"
        logger.info("gateway listening on %s (data directory %s)", url, data_dir)
        ready: dict[str, Any] = {
            "event": "ready",
            "url": url,
            "port": data_plane.port,
            "data_dir": str(data_dir),
            "redis": "embedded" if store else "external",
            "pid": os.getpid(),
        }
        for hook in after_start_hooks:
            ready.update(hook(msgspec.structs.replace(settings, port=data_plane.port)) or {})
        _emit(as_json, ready)

        status = _wait(stop, control, store)
        logger.info("gateway stopping")
    _emit(as_json, {"event": "stopped", "status": status})
    logger.info("gateway stopped")
    return status


def _wait(stop: _StopSignal, control: ControlPlaneProcess, store: EmbeddedRedis | None) -> int:
    """Block until a stop signal (status 0) or a child's death (status 1)."""
    while not stop.event.wait(0.5):
        if not control.alive():
            logger.error("control plane exited unexpectedly; stopping the gateway")
            return 1
        if store is not None and not store.alive():
            logger.error("embedded Redis exited unexpectedly; stopping the gateway")
            return 1
    logger.info("received %s", signal.Signals(stop.received or signal.SIGTERM).name)
    return 0
