"""S3 and DynamoDB (moto's server behind the strict S3) in a process of their own.

On AWS, S3 and DynamoDB are other machines: a handler's call to them costs it no CPU
of its own. Here moto's server, the strict S3 layer (`strict_s3.py`) and the watcher
of created objects (`notifications.py`) run in a child process, so their work does
not hold the GIL of the process where the gateway and the functions run. The parent
(`MotoServer`, which `aws.MotoServer` is) starts it, reads its endpoint, and stops it.

Follows: one endpoint for S3 and DynamoDB, as `AWS_ENDPOINT_URL` names it; state that
lives as long as the server (the parent's `reset()` empties it); the server's lifetime
bound to its parent's: the child reads a pipe from the parent and exits when it
closes, which happens however the parent ends (`stop()`, a crash, SIGKILL), and it
ignores SIGINT, so Ctrl-C in a terminal stops it through its parent, in order.

Two things the child cannot do itself, it hands to the parent, where the functions run:
- Lambda's Invoke API (`invoke.py`): a `POST /2015-03-31/functions/{name}/invocations`
  signed for `lambda` is passed on as it came to the parent's invoke endpoint, and its
  answer passed back, so handlers keep one `AWS_ENDPOINT_URL` for every service.
- S3 → EventBridge (`notifications.py`): after a 2xx that created an object in a bucket
  that reports to EventBridge, the child writes one JSON line (bucket, key, reason) to
  its stdout before it answers; the parent's notifier reads it and delivers the event.

moto keeps each object or part over 5 MiB in a temporary file, in the child's TMPDIR:
`DEVSTACK_MOTO_TMPDIR` sets it (the CLI bench puts them in /dev/shm, see `bench/cli.py`).

Does not follow: anything of S3's or DynamoDB's scale or latency (one Python process,
DynamoDB requests answered one at a time, see `atomic.py`); the child's own log lines
(moto's warnings) go to the parent's stderr unprefixed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess  # nosec B404  # the child is this module, run by this interpreter
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

EventSink = Callable[[str, str, str], None]
"""Called in the parent with (bucket, key, reason) for each object the child created."""

INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_WAIT_SECONDS = 960  # longer than Lambda's longest Timeout (900 s)
START_SECONDS = 60
OBJECTS_DIR_VARIABLE = "DEVSTACK_MOTO_TMPDIR"
"""Where moto keeps the files of objects over 5 MiB (its TMPDIR); unset, the system's."""
STOP_SECONDS = 10
_ROOT = Path(__file__).resolve().parent.parent


def strict_s3_enabled() -> bool:
    """The strict S3 layer (devstack.strict_s3) is on unless STOWAGE_STRICT_S3=0."""
    return os.environ.get("STOWAGE_STRICT_S3", "1") != "0"


def ensure_port_free(port: int) -> None:
    """Fail fast on a busy port, with a message that says which."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise OSError(f"127.0.0.1:{port} is in use ({error.strerror})") from None


def quiet_werkzeug() -> None:
    """werkzeug logs every request with its query string, which holds presigned
    signatures; keep only its warnings unless someone chose a level already."""
    logger = logging.getLogger("werkzeug")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


# ------------------------------------------------------------------ the parent


class MotoServer:
    """moto's server in a child process on 127.0.0.1, empty on start.

    `invoke_url`: where the child passes Lambda Invoke requests on (the parent's
    invoke endpoint); `event_buckets` and `on_event`: which buckets' created objects
    the child reports, and what the parent does with each report.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        invoke_url: str | None = None,
        event_buckets: Iterable[str] = (),
        on_event: EventSink | None = None,
    ) -> None:
        self._port = port
        self._config = {
            "port": port,
            "invoke_url": invoke_url,
            "event_buckets": sorted(event_buckets),
        }
        self._on_event = on_event
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.endpoint = ""

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        """Start the child; returns the endpoint URL (with the real port for port 0)."""
        ensure_port_free(self._port)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        if objects := os.environ.get(OBJECTS_DIR_VARIABLE):
            environment["TMPDIR"] = objects  # where moto's object files go
        self._process = subprocess.Popen(  # nosec B603  # this interpreter, this module
            [sys.executable, "-c", "from devstack.moto_process import child; child()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        if self._process.stdin is None or self._process.stdout is None:  # PIPE gives both
            raise RuntimeError("moto's process started without its pipes")
        self._process.stdin.write(json.dumps(self._config).encode() + b"\n")
        self._process.stdin.flush()
        first = _read_line(self._process.stdout, START_SECONDS)
        if "endpoint" not in first:
            self.stop()
            raise OSError(f"moto's server did not start: {first.get('error', 'no answer')}")
        self.endpoint = str(first["endpoint"])
        self._reader = threading.Thread(
            target=self._read_events, args=(self._process.stdout,), name="devstack-moto-events"
        )
        self._reader.daemon = True
        self._reader.start()
        return self.endpoint

    def reset(self) -> None:
        """Drop every bucket, table and object moto holds."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310  # http to local moto
            response.read()

    def stop(self) -> None:
        """Close the child's pipe (it exits on that), wait for it; safe twice."""
        process, self._process = self._process, None
        self.endpoint = ""
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join()
            self._reader = None
        if process.stdout is not None:
            process.stdout.close()

    def _read_events(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            report = json.loads(line)
            if self._on_event is not None:
                self._on_event(report["bucket"], report["key"], report["reason"])


def _read_line(stream: IO[bytes], seconds: float) -> dict[str, Any]:
    """The child's first line, or an error when it died or hung on the way."""
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    if not found or not found[0]:
        return {"error": "it exited or hung before it answered"}
    answer: dict[str, Any] = json.loads(found[0])
    return answer


# ------------------------------------------------------------------- the child


def child() -> None:
    """The child's main: read the config, serve, exit when the parent's pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries only our own lines
    config = json.loads(sys.stdin.buffer.readline())
    writes = threading.Lock()

    def say(message: dict[str, Any]) -> None:
        with writes:
            out.write(json.dumps(message).encode() + b"\n")
            out.flush()

    try:
        server = _server(config, say)
    except OSError as error:
        say({"error": str(error)})
        raise SystemExit(1) from None
    threading.Thread(target=_exit_with_parent, args=(server,), daemon=True).start()
    host, port = server.server_address[:2]
    say({"endpoint": f"http://{host}:{port}"})
    server.serve_forever()
    os._exit(0)  # request threads may still hold connections; the parent is gone


def _exit_with_parent(server: Any) -> None:
    """Block on the parent's pipe; at its end (EOF) exit at once: the state dies with
    the process, and the parent waits for nothing else (no serve_forever poll)."""
    while sys.stdin.buffer.read(65536):
        pass
    server.socket.close()
    os._exit(0)


def _server(config: dict[str, Any], say: Callable[[dict[str, Any]], None]) -> Any:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from devstack.atomic import serialize_dynamodb
    from devstack.dynamodb_answers import fast_dynamodb_answers
    from devstack.moto_s3 import speed_up
    from devstack.notifications import watch

    quiet_werkzeug()
    serialize_dynamodb()
    fast_dynamodb_answers()
    speed_up()
    _list_moto_modules_once()
    app = _part_puts_without_form_type(DomainDispatcherApplication(create_backend_app))
    buckets = set(config["event_buckets"])
    if buckets:  # sees only what the strict S3 let through
        app = watch(app, buckets, lambda b, k, r: say({"bucket": b, "key": k, "reason": r}))
    if config["invoke_url"]:
        app = _invocations_to(config["invoke_url"], app)
    if strict_s3_enabled():
        from devstack.strict_s3 import strict

        app = strict(app)
    return make_server(
        "127.0.0.1", int(config["port"]), app, threaded=True, request_handler=MotoRequestHandler
    )


def _list_moto_modules_once() -> None:
    """moto's server finds a request's backend by listing its own package folder (a
    listdir and some 260 stats, over a millisecond) on every request; it never changes."""
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules


def _part_puts_without_form_type(app: Any) -> Any:
    """`curl -X PUT --data-binary` labels a part `application/x-www-form-urlencoded`;
    moto's server then parses the body as a form and never answers. S3 ignores a
    part's content type, so drop that label on UploadPart requests."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        is_part = environ.get("REQUEST_METHOD") == "PUT" and "partNumber=" in environ.get(
            "QUERY_STRING", ""
        )
        if is_part and environ.get("CONTENT_TYPE", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            environ.pop("CONTENT_TYPE")
        return app(environ, start_response)

    return wrapped


_PASSED_ON = ("Authorization", "X-Amz-Invocation-Type", "X-Amz-Date", "X-Amz-Security-Token")


def _invocations_to(invoke_url: str, app: Any) -> Any:
    """Lambda Invoke requests go on to the parent's endpoint; the rest to moto."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not (path.startswith(INVOKE_PREFIX) and path.endswith("/invocations")):
            return app(environ, start_response)
        if "/lambda/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
            return app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        headers = {
            name: environ[key]
            for name in _PASSED_ON
            if (key := "HTTP_" + name.upper().replace("-", "_")) in environ
        }
        request = urllib.request.Request(
            invoke_url + environ.get("RAW_URI", path), data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_WAIT_SECONDS) as answer:  # nosec B310  # the parent, on 127.0.0.1
                status, reply, data = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, reply, data = error.code, error.headers, error.read()
        kept = [(k, v) for k, v in reply.items() if k.lower() not in ("connection", "server")]
        start_response(f"{status} {HTTPStatus(status).phrase}", kept)
        return [data]

    return wrapped


def run_wsgi(app: Any, name: str) -> tuple[Any, threading.Thread, str]:
    """Serve `app` on 127.0.0.1 (a free port) on a thread: (server, thread, URL)."""
    from werkzeug.serving import make_server

    quiet_werkzeug()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"
