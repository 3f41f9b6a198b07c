"""POST /v1/uploads/{upload_id}/complete: verify the parts in S3 and complete, once."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.uploads import CompleteUploadRequest, CompleteUploadResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.post("/v1/uploads/<upload_id>/complete")
def complete_upload(
    upload_id: str, body: Annotated[CompleteUploadRequest | None, Body()] = None
) -> CompleteUploadResponse:
    answer = service.complete_upload(current_caller(app), upload_id, body)
    logger.info("upload completed", extra={"upload_id": upload_id, "size": answer.size})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
