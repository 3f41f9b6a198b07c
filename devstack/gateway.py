"""API Gateway HTTP API (`$default` stage) in front of the emulated Lambdas.

Routing, authorizers, CORS, payload limits and error shapes follow the real
service, so what works here works once deployed, and what fails there fails here.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.authorizer import INTEGRATION_TIMEOUT_SECONDS, Authorizers
from devstack.events import (
    HttpRequest,
    HttpResponse,
    MalformedResponse,
    build_event,
    decode_path,
    message_response,
    request_id,
    split_target,
    to_http_response,
)
from devstack.functions import LocalFunctions
from devstack.runtime import (
    MAX_PAYLOAD_BYTES,
    InvocationError,
    InvocationTimeout,
    log,
)
from devstack.template import (
    CorsSpec,
    FunctionSpec,
    RouteSpec,
    StackSpec,
    TemplateError,
)

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API's own request limit
FIVE_TIB = 5 * 1024**4


def default_dev_identity(stack: StackSpec) -> dict[str, Any]:
    """Who calls when the template has no authorizer yet (a temporary shortcut)."""
    max_file_size = stack.parameters.get("MaxFileSize", str(FIVE_TIB))
    return {
        "client_id": "dev",
        "role": "user",
        "key_prefix": "",
        "max_file_size": int(str(max_file_size)),
        "act_as": False,
    }


# -------------------------------------------------------------------- routing


def _segment_rank(pattern: str) -> int:
    """Literal segments beat `{param}`, which beats `{greedy+}`."""
    if pattern.endswith("+}"):
        return 0
    return 1 if pattern.startswith("{") else 2


@dataclass(frozen=True)
class Route:
    """A route of the API and the function behind it."""

    spec: RouteSpec
    function_id: str

    @property
    def segments(self) -> list[str]:
        return self.spec.path[1:].split("/")

    @property
    def rank(self) -> tuple[tuple[int, ...], bool]:
        """Most specific first: segment by segment, then an exact method over ANY."""
        return tuple(map(_segment_rank, self.segments)), self.spec.method != "ANY"

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None."""
        if self.spec.method not in (method, "ANY"):
            return None
        parameters: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.endswith("+}"):
                rest = "/".join(segments[index:])
                return {**parameters, pattern[1:-2]: rest} if rest else None
            if index >= len(segments) or not _match_segment(pattern, segments[index], parameters):
                return None
        return parameters if len(segments) == len(self.segments) else None


def _match_segment(pattern: str, value: str, parameters: dict[str, str]) -> bool:
    """`{name}` takes one non-empty segment; a literal must be equal."""
    if pattern.startswith("{") and pattern.endswith("}"):
        parameters[pattern[1:-1]] = value
        return value != ""
    return pattern == value


class Router:
    """The route table, built only from the template's HttpApi events."""

    def __init__(self, functions: list[FunctionSpec]) -> None:
        self.routes: list[Route] = []
        self.default: Route | None = None
        seen: set[str] = set()
        for function in functions:
            for spec in function.routes:
                if spec.route_key in seen:  # a deploy would fail on this too
                    raise TemplateError(f"route {spec.route_key} is declared twice")
                seen.add(spec.route_key)
                self._add(Route(spec, function.logical_id))

    def _add(self, route: Route) -> None:
        if route.spec.path == "$default":
            self.default = route
        elif not route.spec.path.startswith("/"):
            raise TemplateError(f"route path {route.spec.path!r} must start with /")
        else:
            self.routes.append(route)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for a decoded path, or the $default route."""
        segments = path[1:].split("/")
        matches = [
            (route, parameters)
            for route in self.routes
            if (parameters := route.match(method, segments)) is not None
        ]
        if matches:
            return max(matches, key=lambda found: found[0].rank)
        return (self.default, {}) if self.default else None


# ----------------------------------------------------------------------- CORS


class Cors:
    """The HttpApi's CorsConfiguration, which API Gateway applies itself."""

    def __init__(self, spec: CorsSpec) -> None:
        self.spec = spec

    def allowed_origin(self, origin: str | None) -> str | None:
        """The value for access-control-allow-origin, or None for a foreign origin."""
        if origin is None:
            return None
        if "*" in self.spec.allow_origins and not self.spec.allow_credentials:
            return "*"
        return (
            origin if origin in self.spec.allow_origins or "*" in self.spec.allow_origins else None
        )

    def preflight(self, request: HttpRequest) -> HttpResponse:
        """API Gateway answers every OPTIONS itself once CORS is configured."""
        origin = self.allowed_origin(request.header("origin"))
        if origin is None:
            return HttpResponse(204)
        spec = self.spec
        methods = spec.allow_methods
        if "*" in methods:
            methods = [request.header("access-control-request-method") or request.method]
        headers = spec.allow_headers
        if "*" in headers:
            headers = [request.header("access-control-request-headers") or ""]
        response = HttpResponse(204, [("access-control-allow-origin", origin)])
        response.headers += [
            ("access-control-allow-methods", ",".join(methods)),
            ("access-control-allow-headers", ",".join(headers)),
        ]
        if spec.max_age_seconds is not None:
            response.headers.append(("access-control-max-age", str(spec.max_age_seconds)))
        self._add_credentials(response)
        return response

    def decorate(self, request: HttpRequest, response: HttpResponse) -> None:
        """CORS headers on an answer; API Gateway ignores the function's own."""
        response.headers = [
            (name, value)
            for name, value in response.headers
            if not name.lower().startswith("access-control-")
        ]
        origin = self.allowed_origin(request.header("origin"))
        if origin is None:
            return
        response.headers.append(("access-control-allow-origin", origin))
        if self.spec.expose_headers:
            response.headers.append(
                ("access-control-expose-headers", ",".join(self.spec.expose_headers))
            )
        self._add_credentials(response)

    def _add_credentials(self, response: HttpResponse) -> None:
        if self.spec.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))


def _is_preflight(request: HttpRequest) -> bool:
    """API Gateway answers a CORS preflight itself: an OPTIONS with `Origin` and
    `Access-Control-Request-Method`. Any other OPTIONS (tus's discovery) is routed."""
    return (
        request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


# -------------------------------------------------------------------- gateway


class Gateway:
    """The HTTP API on 127.0.0.1, serving the template's routes from its functions."""

    def __init__(
        self,
        stack: StackSpec,
        aws_endpoint: str,
        port: int = 0,
        dev_identity: Mapping[str, Any] | None = None,
    ) -> None:
        self.stack = stack
        self.router = Router(stack.functions)
        self.functions = LocalFunctions(stack, aws_endpoint)
        self.pools = self.functions.pools
        api = stack.api
        self.authorizers = Authorizers(api.authorizers if api else {}, self.pools, stack.region)
        self.cors = Cors(api.cors) if api and api.cors else None
        has_authorizer = bool(api and api.authorizers)
        self.dev_identity = (
            None if has_authorizer else dict(dev_identity or default_dev_identity(stack))
        )
        self.requested_port = port
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError("the gateway is not started")
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Set the environment and sys.path the handlers expect, then serve."""
        self.functions.open()
        try:
            self.server = _Server(("127.0.0.1", self.requested_port), self)
        except OSError:
            self.stop()
            raise
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            args=(0.05,),  # poll often, since stop() waits up to one interval
            name="devstack-gateway",
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, close open connections, join threads, undo env and sys.path."""
        if self.server is not None:
            self.server.shutdown()
            self.server.close_connections()
            self.server.server_close()  # joins the request threads
            self.server = None
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        self.functions.close()

    # -- requests

    def log_target(self, method: str, raw_path: str) -> str:
        """The route key a request matches (`GET /v1/files/{key+}`), never its path."""
        try:
            found = self.router.find(method, decode_path(raw_path))
        except UnicodeDecodeError:
            found = None
        return found[0].spec.route_key if found else f"{method} (no route)"

    def handle(self, request: HttpRequest) -> HttpResponse:
        """One request, start to end, including CORS headers and the request id."""
        req_id = request_id()
        if self.cors and _is_preflight(request):
            response = self.cors.preflight(request)
        else:
            response = self._route(request, req_id)
            if self.cors:
                self.cors.decorate(request, response)
        response.headers.append(("apigw-requestid", req_id))
        return response

    def _route(self, request: HttpRequest, req_id: str) -> HttpResponse:
        if len(request.body) > MAX_REQUEST_BYTES:
            return message_response(413, "Request Entity Too Large")
        raw_path, _ = split_target(request.target)
        try:
            path = decode_path(raw_path)
        except UnicodeDecodeError:
            return message_response(400, "Bad Request")
        found = self.router.find(request.method, path)
        if found is None:
            return message_response(404, "Not Found")
        route, parameters = found
        event = build_event(request, route.spec.route_key, path, parameters, req_id)
        denied = self._authorize(route, event)
        return denied or self._integrate(route, event)

    def _authorize(self, route: Route, event: dict[str, Any]) -> HttpResponse | None:
        """Fill requestContext.authorizer, or answer instead (401, 403 or 500)."""
        if self.dev_identity is not None:
            event["requestContext"]["authorizer"] = {"lambda": dict(self.dev_identity)}
            return None
        if route.spec.authorizer is None:
            return None
        verdict = self.authorizers.authorize(route.spec.authorizer, event)
        if verdict.denied is None:
            event["requestContext"]["authorizer"] = {"lambda": verdict.context}
        return verdict.denied

    def _integrate(self, route: Route, event: dict[str, Any]) -> HttpResponse:
        """Invoke the function with Lambda's limits, and read its answer."""
        if len(json.dumps(event).encode()) > MAX_PAYLOAD_BYTES:
            return message_response(413, "Request Entity Too Large")
        pool = self.pools[route.function_id]
        timeout = float(pool.spec.timeout_seconds)
        try:
            result = pool.invoke(event, min(timeout, INTEGRATION_TIMEOUT_SECONDS))
            return to_http_response(result)
        except InvocationTimeout:
            # Past 30 s API Gateway stops waiting before Lambda stops the function.
            if timeout > INTEGRATION_TIMEOUT_SECONDS:
                return message_response(503, "Service Unavailable")
            return message_response(500, "Internal Server Error")
        except InvocationError:
            return message_response(500, "Internal Server Error")
        except MalformedResponse as error:
            log(f"{route.function_id}: malformed response: {error}")
            return message_response(500, "Internal Server Error")


# --------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    """Threaded HTTP server that can close its keep-alive connections on stop."""

    daemon_threads = True
    block_on_close = True  # server_close() joins the request threads

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        self.closing = False
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request or mid-answer (a reset, a closed pipe) is
        one line in the log; anything else keeps socketserver's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            host, port = client_address[:2]
            log(f"client {host}:{port} went away mid-request ({type(error).__name__})")
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self.connections_lock:
            (self.connections.add if open_ else self.connections.discard)(connection)

    def close_connections(self) -> None:
        """Wake idle keep-alive readers so their threads end and can be joined."""
        self.closing = True
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP request, hands it to the gateway, writes the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real endpoint
    server_version = "devstack"
    timeout = 30  # an idle keep-alive connection is closed after this
    # TCP_NODELAY: http.server writes the headers and the body in two sends; with Nagle
    # on, the body waits for the client's delayed ACK of the headers (~40 ms on Linux),
    # a stall the real endpoint does not have.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def serve(self) -> None:
        """Every method goes through here; the route table decides what exists."""
        started = time.monotonic()
        response = self._respond()
        elapsed = (time.monotonic() - started) * 1000
        raw_path, _ = split_target(self.path)
        # The route key, as the template's access log has it: a path or a query string
        # may hold secrets (an upload token, a signature) or a user's file names.
        target = self.server.gateway.log_target(self.command, raw_path)
        # Logged before writing, so the line precedes whatever the client does next.
        log(f"{target} {response.status} {elapsed:.0f}ms")
        self._write(response)
        if self.server.closing:
            self.close_connection = True

    def _respond(self) -> HttpResponse:
        try:
            body = self._read_body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            self.close_connection = True
            return message_response(400, "Bad Request")
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            port=self.server.server_address[1],
        )
        try:
            return self.server.gateway.handle(request)
        except Exception:  # a bug here must not look like a handler's answer
            log(f"gateway error:\n{traceback.format_exc().rstrip()}")
            return message_response(500, "Internal Server Error")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = serve

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY…) is routed too: a method no route has is API
        Gateway's 404, not http.server's 501 page."""
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        """The body (chunked or sized), kept up to one byte past the 10 MB limit."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("content-length") or 0)
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        kept = bytearray()
        while length > 0:
            chunk = self.rfile.read(min(length, 1024 * 1024))
            if not chunk:
                break
            length -= len(chunk)
            kept += chunk[: MAX_REQUEST_BYTES + 1 - len(kept)]
        return bytes(kept)

    def _read_chunked(self) -> bytes:
        kept = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers, then the blank line
                    pass
                return bytes(kept)
            kept += self._read_exactly(size)[: MAX_REQUEST_BYTES + 1 - len(kept)]
            self.rfile.readline()  # the CRLF after each chunk

    def _write(self, response: HttpResponse) -> None:
        """Status, headers, and a body unless HEAD or a status that has none."""
        self.send_response(response.status)
        skip = {"content-length", "transfer-encoding", "connection"}
        for name, value in response.headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        has_body = response.status >= 200 and response.status not in (204, 304)
        if has_body:
            self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        """Silenced: serve() logs one line per request without query strings."""
