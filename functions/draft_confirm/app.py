"""POST /v1/drafts/{draft_id}/confirm: copy the draft to its final key, once."""

from stowage.api import api_handler, create_app, current_caller
from stowage.models.drafts import ConfirmDraftResponse
from stowage.observability import logger
from stowage.wiring import build_draft_service

app = create_app()
service = build_draft_service()


@app.post("/v1/drafts/<draft_id>/confirm")
def confirm(draft_id: str) -> ConfirmDraftResponse:
    answer = service.confirm(current_caller(app), draft_id)
    logger.info("draft confirmed", extra={"draft_id": draft_id, "size": answer.size})
    return answer


lambda_handler = api_handler(app)
