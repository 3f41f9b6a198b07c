"""GET /v1/drafts/{draft_id}/content: 302 to a presigned GET of the draft, to preview it
(`?redirect=false` for the link as JSON)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller, link_response
from stowage.observability import logger, metrics, tracer
from stowage.responses import link_responses
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.get("/v1/drafts/<draft_id>/content", responses=link_responses("the draft"))
def preview(draft_id: str, redirect: Annotated[bool, Query()] = True) -> Response[str]:
    return link_response(service.preview_link(current_caller(app), draft_id), redirect=redirect)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
