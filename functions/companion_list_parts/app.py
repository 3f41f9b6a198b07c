"""GET {endpoint}/s3/multipart/{uploadId}?key=: the parts S3 holds (every page of
ListParts) as [{PartNumber, Size, ETag}], which Uppy resumes from."""

from stowage.api import api_handler, create_app, form_query
from stowage.models.browser import CompanionPart
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.get("/v1/companion/<token>/s3/multipart/<upload_id>")
def list_parts(token: str, upload_id: str) -> list[CompanionPart]:
    return service.list_parts(token, upload_id, form_query(app, "key"))


lambda_handler = api_handler(app)
