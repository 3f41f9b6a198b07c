"""DELETE {endpoint}/s3/multipart/{uploadId}?key=: cancel a browser's upload and abort it
in S3 -> {}."""

from stowage.api import api_handler, create_app, form_query
from stowage.models.browser import AbortMultipartResponse
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.delete("/v1/companion/<token>/s3/multipart/<upload_id>")
def abort(token: str, upload_id: str) -> AbortMultipartResponse:
    return service.abort(token, upload_id, form_query(app, "key"))


lambda_handler = api_handler(app)
