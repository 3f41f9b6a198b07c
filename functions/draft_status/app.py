"""GET /v1/drafts/{draft_id}: the draft's state (pending, uploaded, confirmed…)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.drafts import DraftStatusResponse
from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.get("/v1/drafts/<draft_id>")
def get_status(draft_id: str) -> DraftStatusResponse:
    return service.get_status(current_caller(app), draft_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
