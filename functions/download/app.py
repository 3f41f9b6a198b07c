"""GET /v1/files/{key+}: 302 to a presigned GET of one of the caller's files,
`?redirect=false` for the link as JSON, `?info=true` for its metadata.
HEAD /v1/files/{key+}: 200 if the caller has that file, 404 if not."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller, link_response, path_key
from stowage.responses import DOWNLOAD_RESPONSES, EXISTS_RESPONSES
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.get("/v1/files/.+", responses=DOWNLOAD_RESPONSES)
def download(
    redirect: Annotated[bool, Query()] = True, info: Annotated[bool, Query()] = False
) -> Response[str]:
    caller, key = current_caller(app), path_key(app)
    if info:
        answer = service.describe(caller, key)
        return Response(200, "application/json", answer.model_dump_json())
    return link_response(service.download_link(caller, key), redirect=redirect)


@app.head("/v1/files/.+", responses=EXISTS_RESPONSES)
def exists() -> Response[str]:
    found = service.describe(current_caller(app), path_key(app))
    headers = {
        "ETag": found.etag,
        "Last-Modified": found.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "X-Stowage-Size": str(found.size),
        "X-Stowage-Content-Type": found.content_type,
    }
    return Response(200, "application/json", "", headers)


lambda_handler = api_handler(app)
