"""Requests and answers of the usage routes: per-day counters and clients' daily reports."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from stowage.models.common import Request, Response


class DayUsage(Response):
    date: str
    """YYYY-MM-DD, UTC."""
    uploads: int
    """Files stored: multipart uploads completed and drafts confirmed."""
    bytes: int
    confirmed: int
    """Drafts confirmed (a part of `uploads`)."""
    deleted: int
    failures: int
    """Errors the server answered on complete, confirm and delete."""


class UsageResponse(Response):
    days: list[DayUsage]
    """Newest first, one per UTC day, zeros where nothing happened."""


class UsageReportRequest(Request):
    """A client's own account of one UTC day (a `stowage watch` daemon sends one)."""

    date: dt.date = Field(strict=False)
    uploaded: int = Field(ge=0, le=10**12)
    skipped: int = Field(ge=0, le=10**12)
    failed: int = Field(ge=0, le=10**12)
    host: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    """Which machine: one report per client, day and host (a later one replaces it)."""

    @field_validator("date", mode="before")
    @classmethod
    def _a_date_string(cls, value: object) -> object:
        """`YYYY-MM-DD` only: lax date parsing would take a number as a Unix time."""
        if not isinstance(value, str):
            raise ValueError("date must be a YYYY-MM-DD string")
        return value


class UsageReportResponse(Response):
    date: dt.date
    host: str
    status: Literal["recorded"]
