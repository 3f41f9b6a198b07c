"""DELETE /v1/drafts/{draft_id}: discard a draft and delete its bytes."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.drafts import DiscardDraftResponse
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.delete("/v1/drafts/<draft_id>")
def discard(draft_id: str) -> DiscardDraftResponse:
    return service.discard(current_caller(app), draft_id)


lambda_handler = api_handler(app)
