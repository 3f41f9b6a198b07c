"""POST /v1/uploads: start a resumable multipart upload."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.uploads import InitUploadRequest, InitUploadResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.post("/v1/uploads")
def init_upload(body: InitUploadRequest) -> tuple[InitUploadResponse, int]:
    answer = service.init_upload(current_caller(app), body)
    logger.info("upload started", extra={"upload_id": answer.upload_id, "parts": answer.part_count})
    return answer, 201


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
