"""POST /v1/usage/reports: a client's own report of one UTC day (201)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from stowage.api import api_handler, create_app, current_caller
from stowage.models.usage import UsageReportRequest, UsageReportResponse
from stowage.observability import logger
from stowage.wiring import build_usage_service

app = create_app()
service = build_usage_service()
RECORDED: dict[int, OpenAPIResponse] = {
    201: {
        "description": "Recorded",
        "content": {"application/json": {"model": UsageReportResponse}},
    }
}


@app.post("/v1/usage/reports", responses=RECORDED)
def report_usage(body: Annotated[UsageReportRequest, Body()]) -> Response[str]:
    answer = service.report(current_caller(app).client_id, body)
    logger.info("usage report recorded", extra={"date": str(body.date)})
    return Response(201, "application/json", answer.model_dump_json())


lambda_handler = api_handler(app)
