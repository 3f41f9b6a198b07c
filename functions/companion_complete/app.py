"""POST {endpoint}/s3/multipart/{uploadId}/complete?key= {parts}: complete within the
token's size limit (over it: aborted, 413) -> {location, key}."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import api_base, create_app, form_query, require_object_body
from stowage.models.browser import CompleteMultipartRequest, CompleteMultipartResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.post("/v1/companion/<token>/s3/multipart/<upload_id>/complete")
def complete(
    token: str, upload_id: str, body: CompleteMultipartRequest
) -> CompleteMultipartResponse:
    require_object_body(app)
    answer = service.complete(token, upload_id, form_query(app, "key"), body, api_base(app))
    logger.info("browser upload completed", extra={"upload_id": upload_id})
    return answer


# The path holds the token: the event is never logged, nor answers (URLs) traced.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
