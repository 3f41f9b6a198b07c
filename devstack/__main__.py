"""`python -m devstack`: run the local stack until Ctrl-C or SIGTERM.

PORT (default 3000) is the API's port, S3_PORT (default 4566) moto's. The URL,
API key and S3 endpoint are printed and written to `.stowage-dev.json`.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devstack.stack import REPO_ROOT, LocalStack, Seed

INFO_FILE = REPO_ROOT / ".stowage-dev.json"


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


def main() -> int:
    """Start, announce, wait for a signal, stop cleanly."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(
        port=int(os.environ.get("PORT", "3000")),
        s3_port=int(os.environ.get("S3_PORT", "4566")),
        seed=find_seed(),
    )
    stack.start()
    try:
        write_info(stack, INFO_FILE)
        print(f"API:         {stack.url}", flush=True)
        print(f"API key:     {stack.api_key}", flush=True)
        print(f"S3 endpoint: {stack.s3_endpoint}", flush=True)
        print("Ctrl-C stops.", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        INFO_FILE.unlink(missing_ok=True)  # a stale file would point at a dead port
    print("stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
