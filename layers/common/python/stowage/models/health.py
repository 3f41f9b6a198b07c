from __future__ import annotations

from stowage.models.common import Response


class HealthResponse(Response):
    status: str
    version: str
