"""DELETE /v1/drafts/{draft_id}: discard a draft and delete its bytes."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.drafts import DiscardDraftResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.delete("/v1/drafts/<draft_id>")
def discard(draft_id: str) -> DiscardDraftResponse:
    return service.discard(current_caller(app), draft_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
