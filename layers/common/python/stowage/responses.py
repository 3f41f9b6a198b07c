"""OpenAPI descriptions of the answers a route's return type cannot tell.

Routes that return `Response[str]` (a 201-or-200 answer, a redirect, headers only)
pass these as the decorator's `responses=`, so the generated document
(`make openapi`) says what they really send. Errors are added for every route by
the generator (stowage_cli/openapi.py), not here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)

from stowage.models.files import DownloadLinkResponse, FileInfoResponse
from stowage.models.uploads import DeduplicatedResponse

JSON = "application/json"

NO_STORE: dict[str, OpenAPIResponseHeader] = {
    "Cache-Control": {
        "description": "`no-store`: the link is short-lived",
        "schema": {"type": "string"},
    }
}


def created_or_deduplicated(created: type[Any], what: str) -> dict[int, OpenAPIResponse]:
    """201 with something new, or 200 when a backup with this SHA-256 is already stored."""
    return {
        201: {"description": what, "content": {JSON: {"model": created}}},
        200: {
            "description": "A backup with the same SHA-256 is the user's latest of this app: "
            "nothing to upload, `key` is the stored one.",
            "content": {JSON: {"model": DeduplicatedResponse}},
        },
    }


def accepted(model: type[Any], what: str) -> dict[int, OpenAPIResponse]:
    """202: work that goes on after the answer (an archive's build)."""
    return {202: {"description": what, "content": {JSON: {"model": model}}}}


def _redirect(what: str) -> OpenAPIResponse:
    location: OpenAPIResponseHeader = {
        "description": "A presigned S3 GET URL",
        "schema": {"type": "string", "format": "uri"},
    }
    return {"description": f"Redirect to {what}", "headers": {"Location": location} | NO_STORE}


def link_responses(what: str) -> dict[int, OpenAPIResponse]:
    """302 to a presigned GET, or with `?redirect=false` the link as JSON."""
    return {
        302: _redirect(what),
        200: {
            "description": f"`?redirect=false`: the presigned link to {what} as JSON",
            "headers": NO_STORE,
            "content": {JSON: {"model": DownloadLinkResponse}},
        },
    }


DOWNLOAD_RESPONSES: dict[int, OpenAPIResponse] = {
    302: _redirect("the file"),
    200: {
        "description": "`?info=true`: the file's metadata; `?redirect=false`: the link as JSON",
        "content": {JSON: {"model": FileInfoResponse | DownloadLinkResponse}},
    },
}


def _header(description: str, schema: dict[str, Any]) -> OpenAPIResponseHeader:
    return {"description": description, "schema": schema}


EXISTS_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The caller has this file (no body)",
        "headers": {
            "ETag": _header("The object's ETag", {"type": "string"}),
            "Last-Modified": _header("HTTP date", {"type": "string"}),
            "X-Stowage-Size": _header("Size in bytes", {"type": "string", "pattern": "^[0-9]+$"}),
            "X-Stowage-Content-Type": _header("The stored content type", {"type": "string"}),
            "X-Stowage-Checksum": _header("The stored checksum (base64)", {"type": "string"}),
            "X-Stowage-Checksum-Algorithm": _header(
                "Its algorithm: CRC64NVME, CRC32C, CRC32…", {"type": "string"}
            ),
            "X-Stowage-Checksum-Type": _header("FULL_OBJECT or COMPOSITE", {"type": "string"}),
        },
    },
}

DOCUMENT_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "This OpenAPI 3.1 document",
        "content": {JSON: {"schema": {"type": "object"}}},
    },
}
