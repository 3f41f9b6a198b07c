"""POST /v1/drafts: a presigned POST into the drafts area (the upload-url step)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.drafts import CreateDraftRequest, CreateDraftResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.post("/v1/drafts")
def create_draft(body: CreateDraftRequest) -> tuple[CreateDraftResponse, int]:
    answer = service.create_draft(current_caller(app), body)
    logger.info("draft created", extra={"draft_id": answer.draft_id, "size": body.size})
    return answer, 201


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
