"""`python -m devstack`: run the local stack until Ctrl-C or SIGTERM.

PORT (default 3000) is the API's port, S3_PORT (default 4566) moto's. The URL,
API key and S3 endpoint are printed and written to `.stowage-dev.json` (or to
DEVSTACK_INFO_FILE). Every
enabled schedule of the template fires every SCHEDULE_SECONDS (default 300; 0
turns the scheduler off), whatever its rate or cron expression.

`python -m devstack invoke <LogicalId> [--event FILE]` runs one function once,
in its own process, against the stack `make dev` is running.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import signal
import socket
import sys
import threading
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import Any

from devstack.functions import invoke_once
from devstack.runtime import InvocationError
from devstack.schedule import default_event
from devstack.stack import REPO_ROOT, LocalStack, Seed
from devstack.template import TemplateError, load_template

INFO_FILE = Path(os.environ.get("DEVSTACK_INFO_FILE") or REPO_ROOT / ".stowage-dev.json")
TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_SCHEDULE_SECONDS = "300"


class NoRunningStack(Exception):
    """There is no `make dev` stack to invoke against."""


def find_seed() -> Seed | None:
    """`devstack.seed.seed` if that module exists; an error inside it is not hidden."""
    try:
        module = importlib.import_module("devstack.seed")
    except ModuleNotFoundError as error:
        if error.name == "devstack.seed":
            return None
        raise
    seed: Seed = module.seed
    return seed


def write_info(stack: LocalStack, path: Path) -> None:
    """Where tools and tests find the running stack."""
    info = {
        "url": stack.url,
        "api_key": stack.api_key,
        "s3_endpoint": stack.s3_endpoint,
    }
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- make dev


def schedule_seconds() -> float | None:
    """SCHEDULE_SECONDS as a number of seconds; 0 means no scheduler (None)."""
    text = os.environ.get("SCHEDULE_SECONDS", DEFAULT_SCHEDULE_SECONDS)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise SystemExit(f"SCHEDULE_SECONDS={text!r}: give a number of seconds (0 turns it off)")
    return seconds or None


def announce_schedules(stack: LocalStack, seconds: float | None) -> None:
    """One line per schedule of the template: how often it runs here, if at all."""
    for function in stack.spec.functions:
        for schedule in function.schedules:
            if not schedule.enabled:
                when = "is disabled in the template"
            elif seconds is None:
                when = "is off (SCHEDULE_SECONDS=0)"
            else:
                when = f"runs every {seconds:g} s here"
            name = f"{function.logical_id} ({schedule.name}: {schedule.expression})"
            print(f"Schedule:    {name} {when}", flush=True)


def startup_lines(url: str, api_key: str, s3_endpoint: str) -> list[str]:
    """What `make dev` prints first: where the API, its key, S3 and the page are."""
    return [
        f"API:         {url}",
        f"API key:     {api_key}",
        f"S3 endpoint: {s3_endpoint}",
        f"Upload page: {url}/  (API reference: {url}/docs)",
    ]


def serve() -> int:
    """Start, announce, wait for a signal, stop cleanly."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    seconds = schedule_seconds()
    stack = LocalStack(
        port=int(os.environ.get("PORT", "3000")),
        s3_port=int(os.environ.get("S3_PORT", "4566")),
        seed=find_seed(),
        schedule_seconds=seconds,
    )
    stack.start()
    try:
        write_info(stack, INFO_FILE)
        for line in startup_lines(stack.url, stack.api_key, stack.s3_endpoint):
            print(line, flush=True)
        announce_schedules(stack, seconds)
        print("Ctrl-C stops.", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        INFO_FILE.unlink(missing_ok=True)  # a stale file would point at a dead port
    print("stopped.", file=sys.stderr, flush=True)
    return 0


# ------------------------------------------------------------------ invoke


def running_endpoint(info_file: Path) -> str:
    """moto's endpoint from the running stack's info file, once something answers there."""
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoRunningStack(f"{info_file} not found: start the stack with `make dev`") from None
    except ValueError as error:
        raise NoRunningStack(f"{info_file} is not JSON ({error})") from None
    endpoint = info.get("s3_endpoint") if isinstance(info, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise NoRunningStack(f"{info_file} names no s3_endpoint")
    if not answers(endpoint):  # a stale file: boto3 would retry for a long while
        raise NoRunningStack(f"nothing answers at {endpoint} ({info_file}): is `make dev` up?")
    return endpoint


def answers(endpoint: str) -> bool:
    """Whether something accepts connections at `endpoint`."""
    parts = urllib.parse.urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def read_event(path: Path) -> Any:
    """The JSON event in `path`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path} is not JSON ({error})") from None


def invoke(args: argparse.Namespace) -> int:
    """0 and the answer on stdout; 1 when the function failed; 2 when it could not run."""
    try:
        endpoint = running_endpoint(args.info)
        spec = load_template(args.template)
        function = spec.function(args.logical_id)
        event = default_event(function, spec) if args.event is None else read_event(args.event)
    except (NoRunningStack, TemplateError, OSError, ValueError) as error:
        print(f"devstack invoke: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        # The function's own output (its log lines) goes to stderr, as Lambda sends it
        # to CloudWatch: stdout carries only the answer, for `| jq`.
        with contextlib.redirect_stdout(sys.stderr):
            result = invoke_once(spec, endpoint, function.logical_id, event)
    except InvocationError as error:
        print(f"devstack invoke: {function.logical_id} failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2), flush=True)
    return 0


# -------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description="The local stack (no command: run it)."
    )
    commands = parser.add_subparsers(dest="command")
    one = commands.add_parser(
        "invoke",
        help="run one function once against the running `make dev` stack",
        description="Run one function once, in this process, against the running stack.",
    )
    one.add_argument("logical_id", metavar="LogicalId", help="the function's id in the template")
    one.add_argument(
        "--event", type=Path, metavar="FILE", help="JSON event (default: its scheduled event)"
    )
    one.add_argument(
        "--info",
        type=Path,
        metavar="FILE",
        default=INFO_FILE,
        help="the running stack's info file (default: .stowage-dev.json)",
    )
    one.add_argument(
        "--template",
        type=Path,
        metavar="FILE",
        default=TEMPLATE,
        help="the template the stack runs (default: template.yaml)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "invoke":
        return invoke(args)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
