"""GET /v1/files/{key+}: 302 to a presigned GET of one of the caller's files,
or `?redirect=false` for the link as JSON."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller, link_response
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


# HTTP APIs hand over the key already percent-decoded, slashes and all ({key+}).
@app.get("/v1/files/.+")
def download(redirect: Annotated[bool, Query()] = True) -> Response[str]:
    key = app.current_event.path_parameters["key"]
    return link_response(service.download_link(current_caller(app), key), redirect=redirect)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
