"""GET {endpoint}/s3/multipart/{uploadId}/{partNumber}?key=: a presigned PUT of one part
(any length: the size is checked at complete) -> {url, expires}."""

from stowage.api import api_handler, create_app, form_query
from stowage.models.browser import SignPartResponse
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.get("/v1/companion/<token>/s3/multipart/<upload_id>/<part_number>")
def sign_part(token: str, upload_id: str, part_number: str) -> SignPartResponse:
    return service.sign_part(token, upload_id, part_number, form_query(app, "key"))


lambda_handler = api_handler(app)
