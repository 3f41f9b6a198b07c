"""GET /v1/uploads/{upload_id}: state and the parts S3 holds, to resume from."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.uploads import UploadStatusResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.get("/v1/uploads/<upload_id>")
def get_status(upload_id: str) -> UploadStatusResponse:
    return service.get_status(current_caller(app), upload_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
