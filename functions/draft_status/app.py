"""GET /v1/drafts/{draft_id}: the draft's state (pending, uploaded, confirmed…)."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.drafts import DraftStatusResponse
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.get("/v1/drafts/<draft_id>")
def get_status(draft_id: str) -> DraftStatusResponse:
    return service.get_status(current_caller(app), draft_id)


lambda_handler = api_handler(app)
