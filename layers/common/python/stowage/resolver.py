"""The resolver every handler uses: Powertools' HTTP API resolver, which refuses a request
body over `MAX_BODY_BYTES` before anything routes, decodes or parses it, and reads JSON
bodies with the strict reader of `stowage.jsonbody`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.errors import PayloadTooLargeError
from stowage.jsonbody import read_json
from stowage.observability import logger
from stowage.units import MIB

MAX_BODY_BYTES = 1 * MIB
"""The largest request body a route reads. The biggest legitimate one is a complete that
lists all 10,000 parts with S3's quoted-MD5 ETags: 708,905 bytes as `json.dumps` writes it
(668,905 compact, 928,913 indented by two). 1 MiB takes each of those, and stops anything
bigger long before API Gateway's 10 MB or Lambda's 6 MB would."""


def body_bytes(event: Mapping[str, Any]) -> int:
    """The body's size in bytes, measured without decoding or parsing it."""
    body = event.get("body")
    if not isinstance(body, str):
        return 0
    if event.get("isBase64Encoded"):
        padding = len(body) - len(body.rstrip("="))
        return len(body) * 3 // 4 - padding
    return len(body.encode("utf-8", errors="surrogatepass"))


class LimitedResolver(APIGatewayHttpResolver):
    """An `APIGatewayHttpResolver` that answers 413 PAYLOAD_TOO_LARGE, in the contract's
    error shape, to a body over `max_body_bytes`."""

    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, **options: Any) -> None:
        options.setdefault("json_body_deserializer", read_json)
        super().__init__(**options)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        size = body_bytes(event)
        if size <= self.max_body_bytes:
            return super().resolve(event, context)
        logger.info("request body too large", extra={"size": size, "limit": self.max_body_bytes})
        error = PayloadTooLargeError(f"the request body is over {self.max_body_bytes} bytes")
        return {
            "statusCode": error.status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(error.to_body()),
            "isBase64Encoded": False,
        }
