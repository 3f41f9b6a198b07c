"""POST /v1/uploads/{upload_id}/complete: verify the parts in S3 and complete, once."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from stowage.api import api_handler, create_app, current_caller
from stowage.models.uploads import CompleteUploadRequest, CompleteUploadResponse
from stowage.observability import logger
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.post("/v1/uploads/<upload_id>/complete")
def complete_upload(
    upload_id: str, body: Annotated[CompleteUploadRequest | None, Body()] = None
) -> CompleteUploadResponse:
    answer = service.complete_upload(current_caller(app), upload_id, body)
    logger.info("upload completed", extra={"upload_id": upload_id, "size": answer.size})
    return answer


lambda_handler = api_handler(app)
