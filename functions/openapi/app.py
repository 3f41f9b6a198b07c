"""GET /v1/openapi.json: the API's OpenAPI 3.1 document, no key needed.

The document is generated at development time (`make openapi`, from the routes of
template.yaml and the handlers' models) and packaged beside this file, so a cold
start reads one file instead of importing every handler.
"""

from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from stowage.api import api_handler, create_app
from stowage.responses import DOCUMENT_RESPONSES

DOCUMENT = Path(__file__).with_name("openapi.json")

app = create_app()


@cache
def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@app.get("/v1/openapi.json", responses=DOCUMENT_RESPONSES)
def openapi() -> Response[str]:
    return Response(200, "application/json", document(), {"Cache-Control": "max-age=300"})


lambda_handler = api_handler(app)
