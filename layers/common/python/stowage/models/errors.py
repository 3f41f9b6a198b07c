"""The error document, for the OpenAPI description of every error answer."""

from __future__ import annotations

from pydantic import BaseModel

from stowage.models.common import Timestamp


class ErrorDetail(BaseModel):
    code: str
    message: str
    timestamp: Timestamp
    field: str | None = None
    missing: list[int] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
