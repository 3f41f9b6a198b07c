"""GET /v1/archives/{archive_id}/content: 302 to a presigned GET of the ready zip
(`?redirect=false` for the link as JSON); 409 ARCHIVE_NOT_READY before."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller, link_response
from stowage.responses import link_responses
from stowage.wiring import build_archive_service

app = create_app()
service = build_archive_service()


@app.get("/v1/archives/<archive_id>/content", responses=link_responses("the archive"))
def content(archive_id: str, redirect: Annotated[bool, Query()] = True) -> Response[str]:
    return link_response(service.content_link(current_caller(app), archive_id), redirect=redirect)


lambda_handler = api_handler(app)
