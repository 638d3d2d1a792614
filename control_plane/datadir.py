"""The data directory: generated secrets, the embedded store's files and the
lock that keeps two gateways from sharing one directory."""

from __future__ import annotations

import base64
import fcntl
import logging
import os
from pathlib import Path
from typing import IO

import msgspec

from control_plane.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

MASTER_KEY_FILE = "master.key"
PEPPER_FILE = "pepper.key"
LOCK_FILE = "gateway.lock"
REDIS_URL_FILE = "redis.url"


def ensure(settings: Settings) -> Path:
    """Create the data directory (mode 0700) and return its absolute path."""
    path = Path(settings.data_dir).resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError([f"invalid setting data_dir={settings.data_dir!r}: {exc}"]) from None
    return path


def _read_or_create(path: Path, make: bytes, variable: str) -> str:
    """Return the secret stored in `path`, writing `make` there first if absent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(make)
    logger.warning(
        "%s is not set, so a new one was generated into %s; "
        "production deployments must set %s and keep it safe",
        variable,
        path,
        variable,
    )
    return make.decode()


def with_secrets(settings: Settings, data_dir: Path) -> Settings:
    """Fill in the master key and pepper from the data directory when unset."""
    master_key = settings.master_key or _read_or_create(
        data_dir / MASTER_KEY_FILE,
        base64.b64encode(os.urandom(32)),
        "ASSISTIV_MASTER_KEY",
    )
    key_pepper = settings.key_pepper or _read_or_create(
        data_dir / PEPPER_FILE,
        os.urandom(32).hex().encode(),
        "ASSISTIV_KEY_PEPPER",
    )
    return msgspec.structs.replace(settings, master_key=master_key, key_pepper=key_pepper)


class DataDirLocked(Exception):
    """Another gateway process holds the data directory."""


def lock(data_dir: Path) -> IO[str]:
    """Take the data directory's exclusive lock; keep the handle open to hold it."""
    handle = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirLocked(
            f"data directory {data_dir} is in use by another gateway (pid {owner}); "
            "stop it or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
