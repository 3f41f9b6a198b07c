"""A forward HTTP proxy on 127.0.0.1 that counts what the CLI sends and misbehaves
on demand: an expired URL (403), a failing server (5xx), a slow or a stuck S3, a byte
flipped on the way (in a request body, or in what S3 answers a GET).

The CLI reaches it through HTTP_PROXY (a subprocess) or `httpx.Client(proxy=...)`,
so every byte still goes over real HTTP to the local stack. The local S3 (moto)
checks neither presigned signatures nor their expiry: an expired URL can only be
simulated, and this is where it is.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "upgrade"}
EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


@dataclass
class Seen:
    method: str
    kind: str
    """"part" (a part PUT), "form" (a draft POST), "range" (a GET to S3), "api"."""
    path: str
    status: int
    """What the client got; 0 when it got nothing (held, or dropped)."""


@dataclass
class Fault:
    """Misbehave on requests of `kind` whose path contains `match`: after letting
    `skip` of them through, answer `status` (or hold, drop, delay) `times` times
    (-1: always). A held request waits until the proxy closes, then is dropped."""

    kind: str
    status: int = 0
    body: bytes = b""
    hold: bool = False
    drop: bool = False
    """Close the connection without an answer, as a reset or a crash would."""
    flip: int = -1
    """Flip the low bit of this byte of the body on its way: the request's for a part
    PUT or a form POST, the answer's for a GET."""
    delay: float = 0.0
    skip: int = 0
    times: int = 1
    match: str = ""
    method: str = ""
    gather: threading.Barrier | None = None
    """Forward each request only once `gather.parties` of them are in flight together
    (a request the barrier times out on is answered 503)."""

    def applies(self, method: str, kind: str, path: str) -> bool:
        if kind != self.kind or self.match not in path or self.method not in ("", method):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times == 0:
            return False
        self.times -= 1
        return True


class FaultProxy:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.server.daemon_threads = True
        self.server.proxy = self  # type: ignore[attr-defined]
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.in_flight = self.most_in_flight = 0
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget faults and counts; requests still held stay held."""
        with self.lock:
            self.faults.clear()
            self.seen.clear()
            self.most_in_flight = 0

    def count(self, kind: str, status: int | None = None, method: str = "") -> int:
        with self.lock:
            return sum(
                1
                for s in self.seen
                if s.kind == kind
                and (status is None or s.status == status)
                and method in ("", s.method)
            )

    def wait_for(self, kind: str, count: int, status: int = 200, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.count(kind, status) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.count(kind, status)} {kind} answered {status}")
            time.sleep(0.02)

    def fault_for(self, method: str, kind: str, path: str) -> Fault | None:
        with self.lock:
            return next((f for f in self.faults if f.applies(method, kind, path)), None)

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def entered(self, change: int) -> None:
        with self.lock:
            self.in_flight += change
            self.most_in_flight = max(self.most_in_flight, self.in_flight)


def kind_of(method: str, path: str, headers: Any) -> str:
    if path.startswith("/v1/") or path.startswith("/health"):
        return "api"
    if method == "PUT" and "partNumber=" in path:
        return "part"
    if method == "POST":
        return "form"
    return "range" if method == "GET" else "s3"


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # the query strings hold presigned signatures

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self.relay()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def relay(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        target = urlsplit(self.path)
        path = target.path + (f"?{target.query}" if target.query else "")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = kind_of(self.command, path, self.headers)
        fault = proxy.fault_for(self.command, kind, path)
        if fault is not None and (fault.hold or fault.drop):
            proxy.record(Seen(self.command, kind, path, 0))
            if fault.hold:
                proxy.released.wait()
            self.close_connection = True  # dropped: the request never reaches S3
            return
        if fault is not None and fault.status:
            proxy.record(Seen(self.command, kind, path, fault.status))
            self.answer(fault.status, [("Content-Type", "application/xml")], fault.body)
            return
        flip = fault.flip if fault is not None else -1
        if 0 <= flip < len(body):
            body = flipped(body, flip)
        proxy.entered(1)
        try:
            if fault is not None and fault.gather is not None:
                try:
                    fault.gather.wait()
                except threading.BrokenBarrierError:
                    proxy.record(Seen(self.command, kind, path, 503))
                    self.answer(503, [("Content-Type", "application/xml")], b"")
                    return
            if fault is not None:
                time.sleep(fault.delay)
            status, headers, content = forward(
                self.command, target.netloc, path, self.headers, body
            )
        finally:
            proxy.entered(-1)
        if self.command == "GET" and 0 <= flip < len(content):
            content = flipped(content, flip)
        proxy.record(Seen(self.command, kind, path, status))
        self.answer(status, headers, content)

    def answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)


def flipped(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def forward(
    method: str, netloc: str, path: str, incoming: Any, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(netloc, timeout=60)
    headers = {k: v for k, v in incoming.items() if k.lower() not in HOP_BY_HOP}
    try:
        connection.request(
            method, path, body=body if body or method in ("PUT", "POST") else None, headers=headers
        )
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()
