"""Start and stop the real components the tests run against.

`RedisServer` is a private Redis-compatible server on a random loopback port.
`Gateway` is `assistiv-gateway serve` in a subprocess on a random port, with
its log captured to a file so tests can search it.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from control_plane.embedded_redis import EmbeddedRedis

GATEWAY_COMMAND = [sys.executable, "-m", "control_plane"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_secrets() -> dict[str, str]:
    """A master key and pepper shared by every gateway of one test session."""
    return {
        "ASSISTIV_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ASSISTIV_KEY_PEPPER": os.urandom(32).hex(),
    }


class RedisServer:
    """A redis-server on 127.0.0.1 and a random port, restartable on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.server = EmbeddedRedis(directory, port=self.port)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Gateway:
    """`assistiv-gateway serve --json` with settings from `env`."""

    def __init__(self, workdir: Path, env: dict[str, str], args: list[str] | None = None) -> None:
        self.workdir = workdir
        self.env = env
        self.args = args or []
        self.process: subprocess.Popen[str] | None = None
        self.log_path = workdir / "gateway.log"
        self.ready: dict[str, Any] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [*GATEWAY_COMMAND, "serve", "--json", "--port", "0", *self.args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        threading.Thread(target=self._read_events, daemon=True).start()
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"gateway did not start in {timeout:.0f} s:\n{self.log()}") from None
        if event.get("event") != "ready":
            self.stop()
            raise RuntimeError(f"gateway failed to start: {event}\n{self.log()}")
        self.ready = event

    def _read_events(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self._events.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self._events.put({"event": "exited"})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        status = self.process.returncode
        self.process = None
        return status


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def kill_tree(pid: int) -> None:
    for child in descendants(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            continue
