"""HTTP API Lambda authorizers (payload 2.0), with API Gateway's rules and cache.

- A missing or empty identity header is a 401 without calling the function.
- A simple response `{"isAuthorized": bool, "context": {...}}`: false is a 403.
- An IAM policy response allows when an Allow (and no Deny) covers the route ARN.
- Errors and malformed answers are a 500.
- Answers, denials included, are cached per identity for ReauthorizeEvery seconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.events import HttpResponse, message_response
from devstack.runtime import FunctionPool, InvocationError, log
from devstack.template import ACCOUNT_ID, API_ID, AuthorizerSpec

# API Gateway gives up on an integration after 30 s, whatever the function's Timeout.
INTEGRATION_TIMEOUT_SECONDS = 30.0


@dataclass
class Verdict:
    """Either a response that ends the request, or the context for the route's event."""

    denied: HttpResponse | None = None
    context: Any = None


class Malformed(Exception):
    """The authorizer answered something API Gateway cannot read."""


class AuthorizerCache:
    """Answers per (authorizer, identity values), kept for the authorizer's TTL."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[str, ...]], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[str, ...]]) -> Any:
        """The cached answer, or None when absent or expired."""
        with self._lock:
            expires, answer = self._entries.get(key, (0.0, None))
            return answer if time.monotonic() < expires else None

    def put(self, key: tuple[str, tuple[str, ...]], answer: Any, ttl_seconds: int) -> None:
        """Remember an answer; a TTL of 0 means API Gateway does not cache."""
        if ttl_seconds > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl_seconds, answer)


def route_arn(region: str, method: str, raw_path: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api>/$default/GET/v1/uploads`."""
    api = f"{ACCOUNT_ID}:{API_ID}"
    return f"arn:aws:execute-api:{region}:{api}/$default/{method}{raw_path}"


def authorizer_event(event: Mapping[str, Any], identity: list[str], arn: str) -> dict[str, Any]:
    """The REQUEST event: the route's event minus the body, plus identity and ARN."""
    request = {
        key: value
        for key, value in event.items()
        if key not in ("version", "body", "isBase64Encoded")
    }
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "identitySource": identity,
        **request,
    }


class Authorizers:
    """Runs the template's Lambda authorizers through their function pools."""

    def __init__(
        self,
        specs: Mapping[str, AuthorizerSpec],
        pools: Mapping[str, FunctionPool],
        region: str,
    ) -> None:
        self.specs, self.pools, self.region = specs, pools, region
        self.cache = AuthorizerCache()

    def authorize(self, name: str, event: Mapping[str, Any]) -> Verdict:
        """Decide on one request to a route protected by authorizer `name`."""
        spec = self.specs[name]
        identity = [event["headers"].get(header.lower(), "") for header in spec.identity_headers]
        if not all(identity):
            return Verdict(denied=message_response(401, "Unauthorized"))
        arn = route_arn(self.region, event["requestContext"]["http"]["method"], event["rawPath"])
        key = (name, tuple(identity))
        answer = self.cache.get(key)
        try:
            if answer is None:
                answer = self._invoke(spec, authorizer_event(event, identity, arn))
                self.cache.put(key, answer, spec.cache_ttl_seconds)
            return _verdict(spec, answer, arn)
        except (InvocationError, Malformed) as error:
            log(f"authorizer {name} failed: {error}")
            return Verdict(denied=message_response(500, "Internal Server Error"))

    def _invoke(self, spec: AuthorizerSpec, event: dict[str, Any]) -> Any:
        """Call the function; the answer is validated before it can be cached."""
        pool = self.pools[spec.function_logical_id]
        wait = min(float(pool.spec.timeout_seconds), INTEGRATION_TIMEOUT_SECONDS)
        answer = pool.invoke(event, wait)
        _verdict(spec, answer, "")  # raises Malformed, so a bad answer is never cached
        return answer


def _verdict(spec: AuthorizerSpec, answer: Any, arn: str) -> Verdict:
    if spec.simple_responses:
        return _simple_verdict(answer)
    return _policy_verdict(answer, arn)


def _simple_verdict(answer: Any) -> Verdict:
    if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
        raise Malformed(f"simple response needs a boolean isAuthorized, got {answer!r}")
    context = answer.get("context")
    if context is not None and not isinstance(context, dict):
        raise Malformed(f"context must be an object, got {context!r}")
    if not answer["isAuthorized"]:
        return Verdict(denied=message_response(403, "Forbidden"))
    return Verdict(context=context)


def _policy_verdict(answer: Any, arn: str) -> Verdict:
    policy = answer.get("policyDocument") if isinstance(answer, dict) else None
    if not isinstance(policy, dict) or "principalId" not in answer:
        raise Malformed(f"IAM response needs principalId and policyDocument, got {answer!r}")
    if arn and not _policy_allows(policy, arn):
        return Verdict(denied=message_response(403, "Forbidden"))
    return Verdict(context=answer.get("context"))


def _policy_allows(policy: Mapping[str, Any], arn: str) -> bool:
    """IAM evaluation for execute-api:Invoke on `arn`: an explicit Deny wins."""
    statements = policy.get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    effects = {
        statement.get("Effect")
        for statement in statements
        if _matches(statement.get("Action"), "execute-api:Invoke", ignore_case=True)
        and _matches(statement.get("Resource"), arn, ignore_case=False)
    }
    return "Allow" in effects and "Deny" not in effects


def _matches(patterns: Any, value: str, ignore_case: bool) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one; action names ignore case."""
    flags = re.IGNORECASE if ignore_case else 0
    for pattern in [patterns] if isinstance(patterns, str) else patterns or []:
        parts = str(pattern).split("*")
        regex = ".*".join(".".join(map(re.escape, part.split("?"))) for part in parts)
        if re.fullmatch(regex, value, flags=flags):
            return True
    return False
