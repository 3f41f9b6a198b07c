"""GET /v1/files?prefix=&limit=&cursor=: the caller's files, in key order, a page at a time."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller
from stowage.models.files import FileListResponse
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.get("/v1/files")
def list_files(
    prefix: Annotated[str, Query(max_length=1024)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> FileListResponse:
    return service.list_files(current_caller(app), prefix, limit, cursor)


lambda_handler = api_handler(app)
