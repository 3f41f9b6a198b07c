"""GET {endpoint}/s3/params?filename=&type=: a presigned POST for a browser's single
upload (@uppy/aws-s3 6.x), into the drafts bucket; S3's event registers the file."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, form_query
from stowage.models.browser import PostParamsResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.get("/v1/companion/<token>/s3/params")
def post_params(token: str) -> PostParamsResponse:
    kind = form_query(app, "type", "application/octet-stream")
    return service.post_params(token, form_query(app, "filename"), kind)


# The path holds the token: the event is never logged, nor answers (URLs) traced.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
