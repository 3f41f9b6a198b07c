"""POST {endpoint}/s3/multipart/{uploadId}/complete?key= {parts}: complete within the
token's size limit (over it: aborted, 413) -> {location, key}."""

from stowage.api import api_base, api_handler, create_app, form_query
from stowage.models.browser import CompleteMultipartRequest, CompleteMultipartResponse
from stowage.observability import logger
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.post("/v1/companion/<token>/s3/multipart/<upload_id>/complete")
def complete(
    token: str, upload_id: str, body: CompleteMultipartRequest
) -> CompleteMultipartResponse:
    answer = service.complete(token, upload_id, form_query(app, "key"), body, api_base(app))
    logger.info("browser upload completed", extra={"upload_id": upload_id})
    return answer


lambda_handler = api_handler(app)
