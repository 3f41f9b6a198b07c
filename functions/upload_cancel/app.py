"""DELETE /v1/uploads/{upload_id}: cancel an upload and abort it in S3."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.uploads import CancelUploadResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.delete("/v1/uploads/<upload_id>")
def cancel_upload(upload_id: str) -> CancelUploadResponse:
    answer = service.cancel_upload(current_caller(app), upload_id)
    logger.info("upload cancelled", extra={"upload_id": upload_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
