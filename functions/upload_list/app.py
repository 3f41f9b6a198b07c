"""GET /v1/uploads?status=&limit=&cursor=: the caller's uploads, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller
from stowage.models.uploads import UploadListResponse, UploadStatus
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.get("/v1/uploads")
def list_uploads(
    status: Annotated[UploadStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> UploadListResponse:
    return service.list_uploads(current_caller(app), status, limit, cursor)


lambda_handler = api_handler(app)
