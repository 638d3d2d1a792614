"""`assistiv-gateway simulator`: simulated OpenAI, xAI, Anthropic and Gemini APIs.

The simulator responds in each provider's wire format with deterministic
content, so tests, benchmarks and demos run without real providers. It runs
until SIGINT or SIGTERM. With `--json` it prints one ready line,
`{"event": "ready", "url": ..., "port": ...}`, and a stopped line at the end.
docs/simulator.md describes the paths and the `#sim` directive.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from control_plane.cli import CommandError, command, output, registrar
from control_plane.settings import Settings

logger = logging.getLogger(__name__)

_PROVIDERS = ("openai", "xai", "anthropic", "google")


def _api_key(text: str) -> tuple[str, str]:
    provider, sep, key = text.partition("=")
    if not sep or provider not in _PROVIDERS or not key:
        raise argparse.ArgumentTypeError(
            f"expected PROVIDER=KEY with PROVIDER one of {', '.join(_PROVIDERS)}"
        )
    return provider, key


@registrar
def _add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "simulator",
        parents=[common],
        help="serve simulated provider APIs for tests, benchmarks and demos",
    )
    parser.add_argument(
        "--host", dest="sim_host", default="127.0.0.1", help="address to bind (127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        dest="sim_port",
        type=int,
        default=8090,
        help="port to bind; 0 picks a free one (8090)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="worker threads; 0 means one per CPU (0)"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay before response headers, in ms (0)"
    )
    parser.add_argument(
        "--ttft-ms", type=int, default=0, help="delay before the first token, in ms (0)"
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=0.0,
        help="pace of the tokens after the first; 0 sends them at once (0)",
    )
    parser.add_argument(
        "--split",
        default="none",
        help="how bodies are cut into writes: none, bytes:N or adversarial (none)",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        type=_api_key,
        action="append",
        default=[],
        metavar="PROVIDER=KEY",
        help="require KEY for PROVIDER (openai, xai, anthropic, google); repeatable",
    )
    parser.add_argument(
        "--record-limit",
        type=int,
        default=1000,
        help="recent requests kept for GET /_sim/requests; 0 keeps none (1000)",
    )


def simulator_config(args: argparse.Namespace) -> dict[str, Any]:
    """Build the simulator's JSON settings from the command-line arguments."""
    return {
        "host": args.sim_host,
        "port": args.sim_port,
        "threads": args.threads,
        "latency_ms": args.latency_ms,
        "ttft_ms": args.ttft_ms,
        "tokens_per_second": args.tokens_per_second,
        "split": args.split,
        "api_keys": dict(args.api_keys),
        "record_limit": args.record_limit,
    }


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@command("simulator")
def _simulator(args: argparse.Namespace, settings: Settings) -> int:
    from control_plane import native  # noqa: PLC0415

    config = simulator_config(args)
    native.init_logging(settings.log_level, settings.log_format)
    stop = threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
    try:
        simulator = native.start_simulator(json.dumps(config))
    except (ValueError, native.StartupError) as exc:
        raise CommandError(str(exc)) from None

    url = _url(args.sim_host, simulator.port)
    logger.info("simulator listening on %s", url)
    output(
        args,
        {"event": "ready", "url": url, "port": simulator.port},
        f"simulator listening on {url}",
    )
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    simulator.stop()
    logger.info("simulator stopped")
    if args.json:
        output(args, {"event": "stopped", "status": 0}, "")
    return 0
