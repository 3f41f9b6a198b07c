"""POST /v1/uploads/{upload_id}/parts: presigned PUT URLs for parts (the chunk step)."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.uploads import SignPartsRequest, SignPartsResponse
from stowage.observability import logger
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.post("/v1/uploads/<upload_id>/parts")
def sign_parts(upload_id: str, body: SignPartsRequest) -> SignPartsResponse:
    answer = service.sign_parts(current_caller(app), upload_id, body)
    logger.info("parts signed", extra={"upload_id": upload_id, "count": len(answer.parts)})
    return answer


lambda_handler = api_handler(app)
