"""GET /v1/uploads/{upload_id}: state and the parts S3 holds, to resume from."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.uploads import UploadStatusResponse
from stowage.wiring import build_upload_service

app = create_app()
service = build_upload_service()


@app.get("/v1/uploads/<upload_id>")
def get_status(upload_id: str) -> UploadStatusResponse:
    return service.get_status(current_caller(app), upload_id)


lambda_handler = api_handler(app)
