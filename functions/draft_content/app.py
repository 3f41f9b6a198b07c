"""GET /v1/drafts/{draft_id}/content: 302 to a presigned GET of the draft, to preview it
(`?redirect=false` for the link as JSON)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller, link_response
from stowage.responses import link_responses
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.get("/v1/drafts/<draft_id>/content", responses=link_responses("the draft"))
def preview(draft_id: str, redirect: Annotated[bool, Query()] = True) -> Response[str]:
    return link_response(service.preview_link(current_caller(app), draft_id), redirect=redirect)


lambda_handler = api_handler(app)
