"""POST {endpoint}/s3/multipart {filename, type, metadata}: start a browser's multipart
upload of unknown size (@uppy/aws-s3 sends none) for the token's user."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, require_object_body
from stowage.models.browser import CreateMultipartRequest, CreateMultipartResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.post("/v1/companion/<token>/s3/multipart")
def create_multipart(token: str, body: CreateMultipartRequest) -> CreateMultipartResponse:
    require_object_body(app)
    answer = service.create(token, body)
    logger.info("browser upload started", extra={"upload_id": answer.uploadId})
    return answer


# The path holds the token: the event is never logged, nor answers (URLs) traced.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
