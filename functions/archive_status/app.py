"""GET /v1/archives/{archive_id}: how far the build is (pending, building, ready, failed)."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.archives import ArchiveStatusResponse
from stowage.wiring import build_archive_service

app = create_app()
service = build_archive_service()


@app.get("/v1/archives/<archive_id>")
def get_status(archive_id: str) -> ArchiveStatusResponse:
    return service.status(current_caller(app), archive_id)


lambda_handler = api_handler(app)
