"""`assistiv-gateway serve`: configuration checks, persistence, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from tests.conftest import GatewayFactory, gateway_env
from tests.harness import GATEWAY_COMMAND, Gateway, alive, descendants, free_port, wait_until


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY_COMMAND, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


BAD_SETTINGS = [
    ({"ASSISTIV_PORT": "eighty"}, "ASSISTIV_PORT='eighty'", "integer"),
    ({"ASSISTIV_PORT": "70000"}, "ASSISTIV_PORT='70000'", "between 0 and 65535"),
    ({"ASSISTIV_REDIS_URL": "http://x"}, "ASSISTIV_REDIS_URL=<8 characters, hidden>", "redis://"),
    ({"ASSISTIV_MASTER_KEY": "c2hvcnQ="}, "ASSISTIV_MASTER_KEY=<8 characters, hidden>", "32"),
    ({"ASSISTIV_KEY_PEPPER": "zz"}, "ASSISTIV_KEY_PEPPER=<2 characters, hidden>", "hex"),
    ({"ASSISTIV_LOG_LEVEL": "loud"}, "ASSISTIV_LOG_LEVEL='loud'", "debug, info"),
    ({"ASSISTIV_CONTROL_PLANE_WORKERS": "0"}, "ASSISTIV_CONTROL_PLANE_WORKERS='0'", "between"),
    ({"ASSISTIV_KEY_CACHE_TTL_MS": "5000"}, "ASSISTIV_KEY_CACHE_TTL_MS='5000'", "1000"),
    ({"ASSISTIV_DEMO": "maybe"}, "ASSISTIV_DEMO='maybe'", "true or false"),
    ({"ASSISTIV_CATALOG_PATH": "/no/such.toml"}, "ASSISTIV_CATALOG_PATH", "does not exist"),
]


@pytest.mark.parametrize(("env", "names", "reason"), BAD_SETTINGS)
def test_bad_setting_rejected(
    tmp_path: Path, secrets: dict[str, str], env: dict[str, str], names: str, reason: str
) -> None:
    result = run_cli(["serve"], gateway_env(secrets, None, **env), tmp_path)
    assert result.returncode == 2
    assert names in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_values_never_echoed(tmp_path: Path, secrets: dict[str, str]) -> None:
    bad_key = "not-base64-but-secret!!"
    result = run_cli(["serve"], gateway_env(secrets, None, ASSISTIV_MASTER_KEY=bad_key), tmp_path)
    assert result.returncode == 2
    assert bad_key not in result.stderr


def test_all_problems_listed_at_once(tmp_path: Path, secrets: dict[str, str]) -> None:
    env = gateway_env(secrets, None, ASSISTIV_PORT="-1", ASSISTIV_LOG_FORMAT="xml")
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert "ASSISTIV_PORT" in result.stderr
    assert "ASSISTIV_LOG_FORMAT" in result.stderr


def test_bad_config_file_rejected(tmp_path: Path, secrets: dict[str, str]) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('port = "high"\ncolour = "blue"\n')
    result = run_cli(["serve", "--config", str(config)], gateway_env(secrets, None), tmp_path)
    assert result.returncode == 2
    assert f"port in {config}='high'" in result.stderr
    assert "unknown setting 'colour'" in result.stderr


def test_unparsable_config_file_rejected(tmp_path: Path, secrets: dict[str, str]) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("port = = 1\n")
    result = run_cli(["serve", "--config", str(config)], gateway_env(secrets, None), tmp_path)
    assert result.returncode == 2
    assert "is not valid TOML" in result.stderr


def test_missing_config_file_rejected(tmp_path: Path, secrets: dict[str, str]) -> None:
    result = run_cli(["serve", "--config", "nope.toml"], gateway_env(secrets, None), tmp_path)
    assert result.returncode == 2
    assert "config file nope.toml does not exist" in result.stderr


def test_flag_overrides_environment(tmp_path: Path, secrets: dict[str, str]) -> None:
    env = gateway_env(secrets, None, ASSISTIV_PORT="1")
    result = run_cli(["serve", "--port", "99999"], env, tmp_path)
    assert result.returncode == 2
    assert "--port='99999'" in result.stderr


def test_unreachable_redis_rejected(tmp_path: Path, secrets: dict[str, str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_cli(["serve"], gateway_env(secrets, url), tmp_path)
    assert result.returncode == 1
    assert "Redis at ASSISTIV_REDIS_URL is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_rejected(tmp_path: Path, gateway: Gateway, secrets: dict[str, str]) -> None:
    env = gateway_env(secrets, None)
    result = run_cli(["serve", "--port", str(gateway.ready["port"])], env, tmp_path)
    assert result.returncode == 1
    assert f"could not listen on 127.0.0.1:{gateway.ready['port']}" in result.stderr


def test_version_json(tmp_path: Path, secrets: dict[str, str]) -> None:
    result = run_cli(["version", "--json"], gateway_env(secrets, None), tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["version"] == "0.1.0"


def embedded_env(secrets: dict[str, str]) -> dict[str, str]:
    env = gateway_env(secrets, None)
    for name in ("ASSISTIV_MASTER_KEY", "ASSISTIV_KEY_PEPPER"):
        env.pop(name)
    return env


def test_restart_keeps_data(tmp_path: Path, secrets: dict[str, str]) -> None:
    first = Gateway(tmp_path, embedded_env(secrets))
    first.start()
    assert first.ready["redis"] == "embedded"
    data_dir = Path(first.ready["data_dir"])
    master_key = (data_dir / "master.key").read_text()
    url = (data_dir / "redis.url").read_text()
    redis.Redis.from_url(url).set("persisted", "yes")
    assert first.stop(signal.SIGINT) == 0
    assert "ASSISTIV_MASTER_KEY is not set" in first.log()

    second = Gateway(tmp_path, embedded_env(secrets))
    second.start()
    try:
        url = (data_dir / "redis.url").read_text()
        assert redis.Redis.from_url(url).get("persisted") == b"yes"
        assert (data_dir / "master.key").read_text() == master_key
        assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600
    finally:
        second.stop()


def test_second_gateway_on_same_data_dir_rejected(tmp_path: Path, secrets: dict[str, str]) -> None:
    first = Gateway(tmp_path, embedded_env(secrets))
    first.start()
    try:
        result = run_cli(["serve", "--port", "0"], embedded_env(secrets), tmp_path)
        assert result.returncode == 1
        assert "is in use by another gateway" in result.stderr
    finally:
        first.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_every_process(
    tmp_path: Path, secrets: dict[str, str], signum: signal.Signals
) -> None:
    env = embedded_env(secrets)
    env["ASSISTIV_CONTROL_PLANE_WORKERS"] = "2"
    instance = Gateway(tmp_path, env)
    instance.start()
    assert instance.process is not None
    children = descendants(instance.process.pid)
    # redis-server, the granian master and its two workers at least.
    assert len(children) >= 4
    assert instance.stop(signum) == 0
    assert wait_until(lambda: not any(alive(pid) for pid in children), timeout=10)
    assert "gateway stopped" in instance.log()


def test_killed_supervisor_leaves_no_children(tmp_path: Path, secrets: dict[str, str]) -> None:
    instance = Gateway(tmp_path, embedded_env(secrets))
    instance.start()
    assert instance.process is not None
    children = descendants(instance.process.pid)
    os.kill(instance.process.pid, signal.SIGKILL)
    instance.process.wait()
    assert wait_until(lambda: not any(alive(pid) for pid in children), timeout=15)


def test_extra_gateway_serves(gateway_factory: GatewayFactory) -> None:
    other = gateway_factory()
    with other.client() as http:
        assert http.get("/readyz").status_code == 200
