"""POST /v1/upload-tokens: a scoped, expiring token a browser uploads with (201), so a
web page never holds the API key. Its `endpoint` is Uppy's `companionEndpoint`."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from stowage.api import api_base, api_handler, create_app, current_caller
from stowage.models.browser import MintTokenRequest, MintTokenResponse
from stowage.observability import logger
from stowage.wiring import build_token_service

app = create_app()
service = build_token_service()
TOKEN_CREATED: dict[int, OpenAPIResponse] = {
    201: {"description": "The token", "content": {"application/json": {"model": MintTokenResponse}}}
}


@app.post("/v1/upload-tokens", responses=TOKEN_CREATED)
def mint_token(body: Annotated[MintTokenRequest | None, Body()] = None) -> Response[str]:
    request = body or MintTokenRequest()
    token, expires_at = service.mint(current_caller(app), request)
    endpoint = f"{api_base(app)}/v1/companion/{token}"
    answer = MintTokenResponse(token=token, endpoint=endpoint, expires_at=expires_at)
    logger.info("upload token minted", extra={"ttl_seconds": request.ttl_seconds})
    return Response(201, "application/json", answer.model_dump_json())


lambda_handler = api_handler(app)
