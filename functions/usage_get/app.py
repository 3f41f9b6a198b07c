"""GET /v1/usage?days=N: the caller's usage per UTC day (1..90 days, default 7)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller
from stowage.domain.usage import MAX_DAYS
from stowage.models.usage import UsageResponse
from stowage.wiring import build_usage_service

app = create_app()
service = build_usage_service()


@app.get("/v1/usage")
def get_usage(days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7) -> UsageResponse:
    return service.usage(current_caller(app).client_id, days)


lambda_handler = api_handler(app)
