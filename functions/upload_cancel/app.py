"""DELETE /v1/uploads/{upload_id}: cancel an upload and abort it in S3."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.uploads import CancelUploadResponse
from stowage.observability import logger
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.delete("/v1/uploads/<upload_id>")
def cancel_upload(upload_id: str) -> CancelUploadResponse:
    answer = service.cancel_upload(current_caller(app), upload_id)
    logger.info("upload cancelled", extra={"upload_id": upload_id})
    return answer


lambda_handler = api_handler(app)
