"""Measure the Redis memory that request-log entries take, per entry.

Starts a private redis-server on a free loopback port, writes entries with the
data plane's own append script, then reports `MEMORY USAGE` of the platform's
log stream, of the end users' log indexes and of the request-id records, and
the growth of `used_memory`.

    .venv/bin/python bench/log_memory.py --entries 100000 --end-users 1000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from control_plane import native
from control_plane.embedded_redis import EmbeddedRedis
from tests.fixtures.logs import DEFAULT_RETENTION_MS, entry_fields
from tests.harness import free_port

BATCH = 1_000
PLATFORM = "plat_01jfq3z8x4mv9r2k7w5t6y8b3c"


def realistic_entry(rng: random.Random, end_users: list[str], key_ids: list[str]) -> dict[str, str]:
    user = rng.randrange(len(end_users))
    prompt = rng.randint(20, 4_000)
    completion = rng.randint(1, 800)
    streamed = rng.random() < 0.6
    return entry_fields(
        native.new_id("req"),
        end_user_id=end_users[user],
        key_id=key_ids[user],
        model=rng.choice(["gpt-4o-mini", "gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash"]),
        provider=rng.choice(["openai", "anthropic", "google"]),
        stream=int(streamed),
        input_tokens=prompt,
        cached_input_tokens=rng.choice([0, 0, prompt // 2]),
        output_tokens=completion,
        cost_nano=prompt * 150 + completion * 600,
        charged_nano=(prompt * 150 + completion * 600) * 12 // 10,
        latency_ms=rng.randint(200, 20_000),
        time_to_first_token_ms=rng.randint(100, 900) if streamed else "",
        upstream_latency_ms=rng.randint(100, 900),
    )


def write(client: redis.Redis, entries: int, end_user_count: int) -> None:
    script = client.register_script(native.log_append_script())
    rng = random.Random(7)
    end_users = [native.new_id("eu") for _ in range(end_user_count)]
    key_ids = [native.new_id("key") for _ in range(end_user_count)]
    for start in range(0, entries, BATCH):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(BATCH, entries - start)):
            fields = realistic_entry(rng, end_users, key_ids)
            keys = [
                native.redis_key("log_stream", PLATFORM),
                native.redis_key("log_request", PLATFORM, fields["request_id"]),
                native.redis_key("test_clock", PLATFORM),
                native.redis_key("end_user_log_index", PLATFORM, fields["end_user_id"]),
            ]
            args = ["0", str(DEFAULT_RETENTION_MS)]
            for name, value in fields.items():
                args += [name, value]
            script(keys=keys, args=args, client=pipe)
        pipe.execute()


def usage(client: redis.Redis, pattern: str) -> int:
    total = 0
    for key in client.scan_iter(match=pattern, count=1_000):
        total += int(client.memory_usage(key, samples=0) or 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--end-users", type=int, default=1_000)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        server = EmbeddedRedis(Path(directory), port=free_port())
        server.start()
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            before = int(client.info("memory")["used_memory"])
            write(client, options.entries, options.end_users)
            after = int(client.info("memory")["used_memory"])
            stream = int(client.memory_usage(native.redis_key("log_stream", PLATFORM), samples=0))
            indexes = usage(client, native.redis_key("end_user_log_index", PLATFORM, "*"))
            records = usage(client, native.redis_key("log_request", PLATFORM, "*"))
            version = client.info("server")["redis_version"]
            client.close()
        finally:
            server.stop()

    n = options.entries
    print(f"redis {version}, {n} entries, {options.end_users} end users")
    print(f"log stream          {stream / n:7.1f} bytes per entry")
    print(f"end-user indexes    {indexes / n:7.1f} bytes per entry")
    print(f"request-id records  {records / n:7.1f} bytes per entry")
    print(f"total (MEMORY USAGE) {(stream + indexes + records) / n:6.1f} bytes per entry")
    print(f"used_memory growth  {(after - before) / n:7.1f} bytes per entry")


if __name__ == "__main__":
    main()
