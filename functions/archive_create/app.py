"""POST /v1/archives: many of the caller's files as one zip, built in the background
(202; follow it at GET /v1/archives/{archive_id})."""

from aws_lambda_powertools.event_handler import Response

from stowage.api import api_handler, create_app, current_caller
from stowage.models.archives import ArchiveCreatedResponse, CreateArchiveRequest
from stowage.responses import accepted
from stowage.wiring import build_archive_service

app = create_app()
service = build_archive_service()


@app.post("/v1/archives", responses=accepted(ArchiveCreatedResponse, "The archive is being built"))
def create(request: CreateArchiveRequest) -> Response[str]:
    answer = service.create(current_caller(app), request)
    return Response(202, "application/json", answer.model_dump_json())


lambda_handler = api_handler(app)
