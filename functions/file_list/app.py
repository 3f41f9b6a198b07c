"""GET /v1/files?prefix=&limit=&cursor=: the caller's files, in key order, a page at a time."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.files import FileListResponse
from stowage.observability import logger, metrics, tracer
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
