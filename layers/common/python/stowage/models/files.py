"""Answers of the file routes."""

from __future__ import annotations

from stowage.models.common import Response, Timestamp


class DownloadLinkResponse(Response):
    url: str
    expires_at: Timestamp
