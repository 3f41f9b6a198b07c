"""DELETE /v1/files/{key+}: delete one of the caller's files."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller, path_key
from stowage.models.files import DeleteFileResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.delete("/v1/files/.+")
def delete_file() -> DeleteFileResponse:
    key = path_key(app)
    answer = service.delete(current_caller(app), key)
    logger.info("file deleted", extra={"key_length": len(key)})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
