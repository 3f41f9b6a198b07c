"""The browser the tests (and bench/browser.py) drive, the second origin they serve,
and what they check through the API: a file appearing, and its bytes."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from playwright.sync_api import Browser, Page, Playwright

from tests.support.http import Api

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATIC = Path(__file__).parent / "static"


# moto answers a presigned POST with a 204 that carries no ETag and no CORS
# Expose-Headers (S3 sends both), so Chromium logs this when @uppy/aws-s3 reads the
# POST's ETag (it does not need it). Only this line is forgiven.
MOTO_POST_ETAG = 'Refused to get unsafe header "etag"'


class PageErrors:
    """Uncaught errors and console errors (a CSP violation is one) of a page."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @property
    def unexpected(self) -> list[str]:
        return [line for line in self.seen if MOTO_POST_ETAG not in line]

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.seen.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.seen.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium, with nothing of its own talking to the network."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


@contextlib.contextmanager
def serve_static(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on a free port of 127.0.0.1: another origin than the API."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# A single-request upload becomes the user's file when S3's event has been handled.
REGISTERED_WITHIN_S = 20.0


def find_file(api: Api, name: str) -> dict[str, Any] | None:
    """The caller's file whose key ends in `/name`, if listed."""
    answer = api.call("GET", "/v1/files", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    found = [f for f in answer.json()["files"] if f["key"].rsplit("/", 1)[-1] == name]
    return found[0] if found else None


def wait_for_file(api: Api, name: str) -> dict[str, Any]:
    """Poll the listing (with a deadline) until the file is there."""
    deadline = time.monotonic() + REGISTERED_WITHIN_S
    while (found := find_file(api, name)) is None:
        assert time.monotonic() < deadline, f"{name} never became a file of the client"
        time.sleep(0.1)  # polling a condition with a deadline, not synchronisation by sleep
    return found


def file_bytes(api: Api, key: str) -> bytes:
    """The stored file, through the API's download link."""
    link = api.call("GET", "/v1/files/" + quote(key), params={"redirect": "false"})
    assert link.status_code == 200, link.text
    answer = requests.get(link.json()["url"], timeout=60)
    assert answer.status_code == 200
    return answer.content
