"""The local HTTP API, exercised with real HTTP requests against the fixture stack."""

from __future__ import annotations

import base64
import http.client
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devstack.stack import LocalStack

ALLOW = {"Authorization": "allow-alice"}
SIX_MB = 6 * 1024 * 1024


def get(stack: LocalStack, path: str, **kwargs: Any) -> requests.Response:
    headers = {**ALLOW, **kwargs.pop("headers", {})}
    return requests.get(stack.url + path, headers=headers, timeout=30, **kwargs)


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


# ------------------------------------------------------------------- routing


def test_a_literal_route_beats_a_parameter_route(stack: LocalStack) -> None:
    # Given GET /items/special and GET /items/{id}
    # When both paths are requested
    special = event_of(get(stack, "/items/special"))
    item = event_of(get(stack, "/items/42"))

    # Then each reaches its own route
    assert special["routeKey"] == "GET /items/special"
    assert "pathParameters" not in special
    assert item["routeKey"] == "GET /items/{id}"
    assert item["pathParameters"] == {"id": "42"}


def test_a_greedy_parameter_takes_the_rest_of_the_path(stack: LocalStack) -> None:
    # Given GET /files/{key+}
    # When a nested path is requested
    event = event_of(get(stack, "/files/a/b/c.txt"))

    # Then the parameter holds every remaining segment
    assert event["routeKey"] == "GET /files/{key+}"
    assert event["pathParameters"] == {"key": "a/b/c.txt"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/items/42"),  # the path exists for GET only
        ("GET", "/files"),  # a greedy parameter needs at least one segment
        ("GET", "/files/"),
        ("GET", "/items/42/extra"),
        ("HEAD", "/files/a.txt"),  # HEAD needs a HEAD route, GET does not do
        ("GET", "/nowhere"),
        ("TRACE", "/items/42"),  # no route has it: 404 too, not http.server's 501
        ("QUERY", "/items/42"),
    ],
)
def test_unmatched_requests_are_404(stack: LocalStack, method: str, path: str) -> None:
    # Given the fixture routes
    # When a request matches none of them
    response = requests.request(method, stack.url + path, headers=ALLOW, timeout=30)

    # Then API Gateway's 404 comes back, without calling anything
    assert response.status_code == 404
    if method != "HEAD":
        assert response.json() == {"message": "Not Found"}


def test_head_matches_a_head_route_and_has_no_body(stack: LocalStack) -> None:
    # Given HEAD /items/{id}
    # When it is requested
    response = requests.head(stack.url + "/items/7", headers=ALLOW, timeout=30)

    # Then the function answers, and the body is left out
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


# ------------------------------------------------------------ request events


def test_the_path_is_percent_decoded_before_matching(stack: LocalStack) -> None:
    # Given a key holding an encoded slash, question mark, space and UTF-8
    # When it is requested
    event = event_of(get(stack, "/files/a%2Fb%3Fc%20d%C3%A9.txt"))

    # Then rawPath and the parameter hold the decoded text
    assert event["rawPath"] == "/files/a/b?c dé.txt"
    assert event["pathParameters"] == {"key": "a/b?c dé.txt"}
    assert event["requestContext"]["http"]["path"] == "/files/a/b?c dé.txt"
    assert event_of(get(stack, "/items/caf%C3%A9"))["pathParameters"] == {"id": "café"}


def test_an_encoded_slash_splits_a_segment(stack: LocalStack) -> None:
    # Given GET /items/{id}, which takes one segment
    # When the id holds %2F
    response = get(stack, "/items/a%2Fb")

    # Then the decoded path has two segments, which no route takes
    assert response.status_code == 404


def test_query_strings(stack: LocalStack) -> None:
    # Given a query with repeated, encoded, plus and empty values
    raw = "a=1&a=2&b=x%20y&c=1+2&empty="

    # When it is sent
    event = event_of(get(stack, f"/items/1?{raw}"))

    # Then rawQueryString is raw and the parameters are decoded and joined
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == {
        "a": "1,2",
        "b": "x y",
        "c": "1+2",
        "empty": "",
    }
    assert "queryStringParameters" not in event_of(get(stack, "/items/1"))


def test_headers_are_lowercased_joined_and_cookies_set_apart(stack: LocalStack) -> None:
    # Given a request with a repeated header and cookies (sent raw to keep the repeat)
    address = urlsplit(stack.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    connection.putrequest("GET", "/items/1")
    for name, value in [
        ("Authorization", "allow-alice"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
        ("Cookie", "a=1; b=2"),
    ]:
        connection.putheader(name, value)
    connection.endheaders()

    # When it reaches the function
    response = connection.getresponse()
    import json

    event = json.loads(response.read())["event"]
    connection.close()

    # Then names are lowercase, repeats joined, cookies listed apart
    assert event["headers"]["x-multi"] == "one,two"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-forwarded-proto"] == "http"


def test_bodies_are_text_or_base64(stack: LocalStack) -> None:
    # Given a text body and a binary one
    # When both are posted
    text = event_of(requests.post(stack.url + "/echo", data="héllo".encode(), headers=ALLOW))
    binary_body = b"\xff\x00\xfe"
    binary = event_of(requests.post(stack.url + "/echo", data=binary_body, headers=ALLOW))
    empty = event_of(requests.post(stack.url + "/echo", headers=ALLOW))

    # Then UTF-8 arrives as text, anything else as base64, and no body as nothing
    assert (text["body"], text["isBase64Encoded"]) == ("héllo", False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == binary_body
    assert "body" not in empty


def test_chunked_bodies_and_keep_alive_connections(stack: LocalStack) -> None:
    # Given one keep-alive connection and a body sent in chunks
    with requests.Session() as session:
        # When two requests go through it
        chunked = session.post(
            stack.url + "/echo", data=iter([b"ab", b"cd"]), headers=ALLOW, timeout=30
        )
        again = session.get(stack.url + "/items/1", headers=ALLOW, timeout=30)

    # Then the chunks arrive joined, and the connection serves both
    assert event_of(chunked)["body"] == "abcd"
    assert again.status_code == 200


def test_answers_are_not_held_back_by_nagle(stack: LocalStack) -> None:
    # Given a keep-alive connection that has been answered once
    with requests.Session() as session:
        assert session.get(stack.url + "/items/1", headers=ALLOW, timeout=30).ok

        # When the gateway's side of it is looked at
        gateway = stack._gateway
        assert gateway is not None and gateway.server is not None
        with gateway.server.connections_lock:
            connections = list(gateway.server.connections)

        # Then it sends without Nagle's algorithm: the body of an answer, written after
        # its headers, never waits for the client's delayed ACK (~40 ms per request)
        assert connections
        for connection in connections:
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_event_is_a_complete_payload_2_event(stack: LocalStack) -> None:
    # Given an authorized request
    # When it reaches the function
    response = get(stack, "/items/9", headers={"User-Agent": "tests"})
    event = event_of(response)

    # Then it has the payload-2.0 fields and API Gateway's request id
    context = event["requestContext"]
    assert event["version"] == "2.0"
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /items/{id}"
    assert context["http"]["method"] == "GET"
    assert context["http"]["userAgent"] == "tests"
    assert context["accountId"] == "123456789012"
    assert response.headers["apigw-requestid"] == context["requestId"]
    assert isinstance(context["timeEpoch"], int)


def test_handlers_get_a_lambda_context_and_the_template_environment(
    stack: LocalStack,
) -> None:
    # Given the Echo function
    # When it is called
    answer = get(stack, "/items/1").json()

    # Then its context and environment are what Lambda would give it
    assert answer["context"]["function_name"] == "stowage-local-Echo"
    assert answer["context"]["memory_limit_in_mb"] == "256"
    assert 0 < answer["context"]["remaining_ms"] <= 10_000
    assert answer["environment"] == {
        "FILES_BUCKET": "stowage-local-filesbucket",
        "UPLOADS_TABLE": "stowage-local-UploadsTable",
        "MAX_FILE_SIZE": "1048576",
        "AWS_ENDPOINT_URL": stack.s3_endpoint,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def test_handlers_reach_moto_through_plain_boto3(stack: LocalStack) -> None:
    # Given a handler calling boto3.client("s3") with no endpoint of its own
    # When it runs
    response = get(stack, "/buckets")

    # Then it sees the template's bucket on moto
    assert response.status_code == 200
    assert response.json() == {"buckets": ["stowage-local-filesbucket"]}


# ------------------------------------------------------------------ responses


def test_a_plain_dict_answer_becomes_200_json(stack: LocalStack) -> None:
    # Given a function returning {"hello": "world"} without statusCode
    # When it is called
    response = get(stack, "/answers/plain")

    # Then API Gateway's inference applies
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}
    assert get(stack, "/answers/text").text == "hello"


def test_base64_answers_are_decoded_and_cookies_set(stack: LocalStack) -> None:
    # Given functions answering binary bytes, and cookies
    # When they are called
    binary = get(stack, "/answers/binary")
    cookies = get(stack, "/answers/cookies")
    redirect = get(stack, "/answers/redirect", allow_redirects=False)

    # Then the bytes arrive decoded and each cookie is a Set-Cookie header
    assert binary.content == bytes(range(256))
    assert cookies.status_code == 201
    assert cookies.raw.headers.getlist("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert (redirect.status_code, redirect.headers["location"]) == (
        302,
        "https://example.com/x",
    )


@pytest.mark.parametrize("kind", ["malformed", "huge"])
def test_a_malformed_or_oversized_answer_is_500(stack: LocalStack, kind: str) -> None:
    # Given a function whose body is not a string, or over Lambda's 6 MB
    # When it is called
    response = get(stack, f"/answers/{kind}")

    # Then API Gateway cannot use it
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_a_handler_exception_is_500_and_its_traceback_only_logged(
    stack: LocalStack, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a function that raises
    # When it is called
    response = get(stack, "/boom")

    # Then the client sees API Gateway's 500, and only the log has the traceback
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "secret" not in response.text
    log = capfd.readouterr().err
    assert "Traceback" in log
    assert "RuntimeError: secret internal detail" in log


def test_a_function_past_its_timeout_is_500(stack: LocalStack, tmp_path: Path) -> None:
    # Given a function with Timeout 1 that runs until the test releases it
    release = tmp_path / "release"

    # When it is called
    response = get(stack, "/sleepy", params={"release": str(release)})

    # Then the gateway gave up while the function still ran, as Lambda stops it
    try:
        assert response.status_code == 500
        assert not release.with_suffix(".finished").exists()
    finally:
        release.touch()


def test_a_body_over_6_mb_is_413(stack: LocalStack) -> None:
    # Given a body over Lambda's 6 MB payload limit
    body = b"x" * (SIX_MB + 1)

    # When it is posted
    response = requests.post(stack.url + "/echo", data=body, headers=ALLOW, timeout=60)

    # Then API Gateway refuses it
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_a_body_under_the_limit_is_delivered(stack: LocalStack) -> None:
    # Given a 1 MB body
    body = "y" * (1024 * 1024)

    # When it is posted
    event = event_of(requests.post(stack.url + "/echo", data=body, headers=ALLOW, timeout=60))

    # Then the function gets all of it
    assert event["body"] == body


# ---------------------------------------------------------------- authorizers


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}])
def test_a_missing_identity_header_is_401(stack: LocalStack, headers: dict[str, str]) -> None:
    # Given a protected route
    # When the Authorization header is missing or empty
    response = requests.get(stack.url + "/items/1", headers=headers, timeout=30)

    # Then API Gateway answers 401 without calling the authorizer
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_a_denying_authorizer_is_403(stack: LocalStack) -> None:
    # Given the fixture authorizer, which denies unknown keys
    # When such a key is sent
    response = get(stack, "/items/1", headers={"Authorization": "wrong"})

    # Then the answer is API Gateway's 403
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


@pytest.mark.parametrize("token", ["boom", "malformed"])
def test_a_failing_authorizer_is_500(stack: LocalStack, token: str) -> None:
    # Given an authorizer that raises, or answers without isAuthorized
    # When it is asked
    response = get(stack, "/items/1", headers={"Authorization": token})

    # Then API Gateway answers 500
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_the_authorizer_context_reaches_the_handler(stack: LocalStack) -> None:
    # Given an allowed key
    # When a protected route is called
    event = event_of(get(stack, "/items/1?secret=1", headers={"Authorization": "allow-bob"}))

    # Then the authorizer saw a REQUEST event and its context reached the function
    context = event["requestContext"]["authorizer"]["lambda"]
    assert context["client_id"] == "bob"
    assert context["event_type"] == "REQUEST"
    assert context["has_body"] is False
    assert context["route_arn"] == (
        "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/items/1"
    )


def test_a_route_with_authorizer_none_is_open(stack: LocalStack) -> None:
    # Given GET /public with Auth: {Authorizer: NONE}
    # When it is called without any key
    event = event_of(requests.get(stack.url + "/public", timeout=30))

    # Then the function runs and no authorizer context is set
    assert "authorizer" not in event["requestContext"]


def decision(stack: LocalStack, path: str, token: str) -> str:
    event = event_of(get(stack, path, headers={"Authorization": token}))
    value: str = event["requestContext"]["authorizer"]["lambda"]["decision_id"]
    return value


def test_ttl_0_calls_the_authorizer_every_time(stack: LocalStack) -> None:
    # Given KeyAuthorizer with ReauthorizeEvery: 0
    # When the same key is used twice
    first = decision(stack, "/items/1", "allow-carol")
    second = decision(stack, "/items/1", "allow-carol")

    # Then each request got a fresh decision
    assert first != second


def test_a_positive_ttl_caches_per_identity(stack: LocalStack) -> None:
    # Given CachedAuthorizer with ReauthorizeEvery: 300
    # When one key is used twice, and another key once
    first = decision(stack, "/cached", "allow-dave")
    second = decision(stack, "/cached", "allow-dave")
    other = decision(stack, "/cached", "allow-erin")

    # Then the first answer is reused for the same identity only
    assert first == second
    assert other != first


def test_denials_are_cached_too(stack: LocalStack) -> None:
    # Given CachedAuthorizer
    # When a denied key is sent twice
    responses = [get(stack, "/cached", headers={"Authorization": "nope"}) for _ in range(2)]

    # Then both are 403
    assert [response.status_code for response in responses] == [403, 403]


# ----------------------------------------------------------------------- CORS


def test_cors_preflight_is_answered_by_the_gateway(stack: LocalStack) -> None:
    # Given CorsConfiguration allowing https://app.example.com
    # When a browser sends a preflight (without any Authorization)
    response = requests.options(
        stack.url + "/items/1",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=30,
    )

    # Then the gateway answers it from the configuration
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-methods"] == "GET,POST,DELETE"
    assert response.headers["access-control-allow-headers"] == "authorization,content-type"
    assert response.headers["access-control-max-age"] == "600"


def test_cors_headers_only_for_allowed_origins(stack: LocalStack) -> None:
    # Given CorsConfiguration allowing two origins
    # When an allowed and a foreign origin call a route
    allowed = get(stack, "/items/1", headers={"Origin": "https://admin.example.com"})
    foreign = get(stack, "/items/1", headers={"Origin": "https://evil.example.com"})
    preflight = requests.options(
        stack.url + "/items/1",
        headers={
            "Origin": "https://evil.example.com",
            "Access-Control-Request-Method": "GET",
        },
        timeout=30,
    )

    # Then only the allowed origin gets CORS headers (the function's own are dropped)
    assert allowed.headers["access-control-allow-origin"] == "https://admin.example.com"
    assert allowed.headers["access-control-expose-headers"] == "location"
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-origin" not in preflight.headers


# ---------------------------------------------------------------- concurrency


def test_concurrent_requests_run_in_separate_instances(stack: LocalStack, tmp_path: Path) -> None:
    # Given a function that answers only once two invocations are under way at once
    meet = {"meet": str(tmp_path), "parties": "2"}
    # When two requests arrive at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda _: get(stack, "/slow", params=meet), range(2)))
    later = get(stack, "/slow")

    # Then both succeed in two instances, each with its own copy of the layer,
    # and a later request reuses a warm one
    assert [response.status_code for response in responses] == [200, 200]
    answers = [response.json() for response in responses]
    assert answers[0]["instance"] != answers[1]["instance"]
    assert answers[0]["layer"] != answers[1]["layer"]
    assert later.json()["instance"] in {answer["instance"] for answer in answers}


def test_a_client_that_goes_away_mid_answer_is_one_log_line(
    stack: LocalStack, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a request whose answer is megabytes long, from a client that resets the
    # connection as soon as it has sent it
    address = urlsplit(stack.url)
    body = b"z" * (4 * 1024 * 1024)  # more than loopback buffers hold
    head = (
        f"POST /echo HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: allow-alice\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    capfd.readouterr()
    with socket.create_connection((address.hostname or "", address.port or 0)) as client:
        client.sendall(head + body)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    # When the gateway writes its answer into the reset connection
    log = ""
    deadline = time.monotonic() + 60
    while "went away" not in log and time.monotonic() < deadline:
        log += capfd.readouterr().err

    # Then the log says so in one line, with no traceback
    assert len([line for line in log.splitlines() if "went away mid-request" in line]) == 1
    assert "Traceback" not in log
