"""POST /v1/uploads: start a resumable multipart upload (201), or for a backup the user
already has byte for byte, answer with it at once (200, `deduplicated`)."""

from aws_lambda_powertools.event_handler import Response

from stowage.api import api_handler, create_app, created_response, current_caller
from stowage.models.uploads import InitUploadRequest, InitUploadResponse
from stowage.observability import logger
from stowage.responses import created_or_deduplicated
from stowage.wiring import build_upload_service

app = create_app()
UPLOAD_CREATED = created_or_deduplicated(InitUploadResponse, "The upload is started")
service = build_upload_service()


@app.post("/v1/uploads", responses=UPLOAD_CREATED)
def init_upload(body: InitUploadRequest) -> Response[str]:
    answer = service.init_upload(current_caller(app), body)
    logger.info("upload started", extra={"status": answer.status, "kind": body.kind})
    return created_response(answer)


lambda_handler = api_handler(app)
