"""DELETE {endpoint}/s3/multipart/{uploadId}?key=: cancel a browser's upload and abort it
in S3 -> {}."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, form_query
from stowage.models.browser import AbortMultipartResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.delete("/v1/companion/<token>/s3/multipart/<upload_id>")
def abort(token: str, upload_id: str) -> AbortMultipartResponse:
    return service.abort(token, upload_id, form_query(app, "key"))


# The path holds the token: the event is never logged, nor answers (URLs) traced.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
