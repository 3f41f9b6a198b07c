"""Browser uploads: minting upload tokens, and the Companion routes @uppy/aws-s3 6.x calls.

The Companion answers use Uppy's own field names (camelCase, `PartNumber`, `ETag`),
not stowage's snake_case: the plugin reads them as they are.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from stowage.models.common import Name, Request, Response, Timestamp
from stowage.units import MAX_OBJECT_SIZE

MAX_TOKEN_TTL = 24 * 3600
ContentTypePattern = Annotated[
    str,
    Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*|\*)/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*|\*)$"),
]
"""`type/subtype`, where either half may be `*` (`image/*`, `*/*`)."""


class MintTokenRequest(Request):
    """Who the token uploads for (act_as rules, as on uploads) and its limits."""

    user_id: Name | None = None
    role: Name | None = None
    max_file_size: int | None = Field(default=None, ge=0, le=MAX_OBJECT_SIZE)
    """At most the client's own limit; default: the client's limit."""
    max_files: int | None = Field(default=None, ge=1, le=100_000)
    """Uploads the token may start (single or multipart); default: no limit."""
    content_types: list[ContentTypePattern] | None = Field(
        default=None, min_length=1, max_length=50
    )
    ttl_seconds: int = Field(default=3600, ge=60, le=MAX_TOKEN_TTL)


class MintTokenResponse(Response):
    token: str
    endpoint: str
    """`{api base}/v1/companion/{token}`: what a page gives Uppy as `companionEndpoint`."""
    expires_at: Timestamp


class TokenClaims(BaseModel):
    """What a token says, signed: the owner it uploads for and its limits."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    purpose: Literal["upload", "post"] = "upload"
    """`upload`: an upload token; `post`: the claim a single-request POST carries to S3."""
    jti: str = Field(min_length=8, max_length=64)
    client_id: str
    key_prefix: str
    role: str
    user_id: str
    max_file_size: int = Field(ge=0)
    max_files: int | None = None
    content_types: list[str] | None = None
    exp: int
    """Expiry, seconds since the epoch."""
    file_name: str | None = None
    """For a `post` claim: the name the browser gave."""
    content_type: str | None = None
    """For a `post` claim: the type pinned in the POST policy."""


# --- the Companion routes (Uppy's names) ------------------------------------------------
class CompanionResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class PostParamsResponse(CompanionResponse):
    """GET /s3/params: a presigned POST; the plugin sends `fields`, then the file."""

    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    expires: int
    """Seconds the form stays valid."""


class CreateMultipartRequest(BaseModel):
    """POST /s3/multipart, as the plugin sends it: no size."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    filename: str = Field(min_length=1, max_length=1024)
    type: str = Field(default="application/octet-stream", max_length=255)
    metadata: dict[str, object] | None = None


class CreateMultipartResponse(CompanionResponse):
    key: str
    uploadId: str  # Uppy's name


class SignPartResponse(CompanionResponse):
    url: str
    expires: int
    """Seconds the URL stays valid."""


class CompanionPart(CompanionResponse):
    PartNumber: int  # Uppy's (and S3's) name
    Size: int
    ETag: str


class ClaimedPart(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    PartNumber: int = Field(ge=1, le=10_000)
    ETag: str = Field(min_length=1, max_length=256)


class CompleteMultipartRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    parts: list[ClaimedPart] = Field(min_length=1, max_length=10_000)


class CompleteMultipartResponse(CompanionResponse):
    location: str
    key: str


class AbortMultipartResponse(CompanionResponse):
    """DELETE /s3/multipart/{uploadId}: `{}`."""
