"""GET /v1/openapi.json: the API's OpenAPI 3.1 document, no key needed.

The document is generated at development time (`make openapi`, from the routes of
template.yaml and the handlers' models) and packaged beside this file, so a cold
start reads one file instead of importing every handler.
"""

from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app
from stowage.observability import logger, metrics, tracer
from stowage.responses import DOCUMENT_RESPONSES

DOCUMENT = Path(__file__).with_name("openapi.json")

app = create_app()


@cache
def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@app.get("/v1/openapi.json", responses=DOCUMENT_RESPONSES)
def openapi() -> Response[str]:
    return Response(200, "application/json", document(), {"Cache-Control": "max-age=300"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
