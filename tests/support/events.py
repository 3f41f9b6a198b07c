"""Sample API Gateway v2.0 events from `events/`, with overrides for a test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_event(
    name: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    caller: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `events/<name>.json` event, its body/path/query/identity replaced where given."""
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    event = copy.deepcopy(event)
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        path = event["requestContext"]["routeKey"].split(" ", 1)[1]
        for param, value in path_parameters.items():
            path = path.replace(f"{{{param}}}", value).replace(f"{{{param}+}}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if caller is not None:
        event["requestContext"]["authorizer"] = {"lambda": caller}
    return event
