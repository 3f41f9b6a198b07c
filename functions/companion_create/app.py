"""POST {endpoint}/s3/multipart {filename, type, metadata}: start a browser's multipart
upload of unknown size (@uppy/aws-s3 sends none) for the token's user."""

from stowage.api import api_handler, create_app
from stowage.models.browser import CreateMultipartRequest, CreateMultipartResponse
from stowage.observability import logger
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.post("/v1/companion/<token>/s3/multipart")
def create_multipart(token: str, body: CreateMultipartRequest) -> CreateMultipartResponse:
    answer = service.create(token, body)
    logger.info("browser upload started", extra={"upload_id": answer.uploadId})
    return answer


lambda_handler = api_handler(app)
