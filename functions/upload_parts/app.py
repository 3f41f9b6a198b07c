"""POST /v1/uploads/{upload_id}/parts: presigned PUT URLs for parts (the chunk step)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.uploads import SignPartsRequest, SignPartsResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.post("/v1/uploads/<upload_id>/parts")
def sign_parts(upload_id: str, body: SignPartsRequest) -> SignPartsResponse:
    answer = service.sign_parts(current_caller(app), upload_id, body)
    logger.info("parts signed", extra={"upload_id": upload_id, "count": len(answer.parts)})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
