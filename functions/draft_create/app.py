"""POST /v1/drafts: a presigned POST into the drafts area (the upload-url step, 201), or
for a backup the user already has byte for byte, that backup (200, `deduplicated`)."""

from aws_lambda_powertools.event_handler import Response

from stowage.api import api_handler, create_app, created_response, current_caller
from stowage.models.drafts import CreateDraftRequest, CreateDraftResponse
from stowage.observability import logger
from stowage.responses import created_or_deduplicated
from stowage.wiring import build_draft_service

app = create_app()
DRAFT_CREATED = created_or_deduplicated(CreateDraftResponse, "The draft and its presigned POST")
service = build_draft_service()


@app.post("/v1/drafts", responses=DRAFT_CREATED)
def create_draft(body: CreateDraftRequest) -> Response[str]:
    answer = service.create_draft(current_caller(app), body)
    logger.info("draft created", extra={"size": body.size, "kind": body.kind})
    return created_response(answer)


lambda_handler = api_handler(app)
