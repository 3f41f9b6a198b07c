"""GET {endpoint}/s3/multipart/{uploadId}/{partNumber}?key=: a presigned PUT of one part
(any length: the size is checked at complete) -> {url, expires}."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, form_query
from stowage.models.browser import SignPartResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.get("/v1/companion/<token>/s3/multipart/<upload_id>/<part_number>")
def sign_part(token: str, upload_id: str, part_number: str) -> SignPartResponse:
    return service.sign_part(token, upload_id, part_number, form_query(app, "key"))


# The path holds the token: the event is never logged, nor answers (URLs) traced.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
