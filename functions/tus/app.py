"""tus 1.0 at /v1/tus/: OPTIONS, creation (POST), HEAD, PATCH and termination (DELETE)."""

from aws_lambda_powertools.event_handler import Response

from stowage.api import api_handler, current_caller
from stowage.domain.tus import read_creation, read_offset
from stowage.observability import logger
from stowage.tus_http import (
    CREATED_RESPONSES,
    HEAD_RESPONSES,
    OPTIONS_RESPONSES,
    PATCH_RESPONSES,
    TERMINATED_RESPONSES,
    check_version,
    chunk,
    create_tus_app,
    location,
    options_headers,
    state_headers,
    tus_response,
)
from stowage.wiring import build_tus_service

app = create_tus_app()
service = build_tus_service()


@app.route("/v1/tus/", method="OPTIONS", responses=OPTIONS_RESPONSES)
def tus_options() -> Response[str]:
    return tus_response(204, options_headers(service.max_size(current_caller(app))))


@app.post("/v1/tus/", responses=CREATED_RESPONSES)
def tus_create() -> Response[str]:
    event = check_version(app.current_event)
    creation = read_creation(
        event.headers.get("upload-length"), event.headers.get("upload-metadata")
    )
    upload = service.create(current_caller(app), creation, chunk(event, required=False))
    logger.info("tus upload created", extra={"upload_id": upload.session.upload_id})
    headers = {"Location": location(event, upload.session.upload_id)}
    return tus_response(201, headers | {"Upload-Offset": str(upload.progress.offset)})


@app.route("/v1/tus/<upload_id>", method="HEAD", responses=HEAD_RESPONSES)
def tus_head(upload_id: str) -> Response[str]:
    check_version(app.current_event)
    state = service.state(current_caller(app), upload_id)
    return tus_response(200, state_headers(state) | {"Cache-Control": "no-store"})


@app.patch("/v1/tus/<upload_id>", responses=PATCH_RESPONSES)
def tus_patch(upload_id: str) -> Response[str]:
    event = check_version(app.current_event)
    data = chunk(event, required=True) or b""
    offset = read_offset(event.headers.get("upload-offset"))
    state = service.append(current_caller(app), upload_id, offset, data)
    logger.info("tus chunk stored", extra={"upload_id": upload_id, "offset": state.offset})
    return tus_response(204, state_headers(state, with_length=False))


@app.delete("/v1/tus/<upload_id>", responses=TERMINATED_RESPONSES)
def tus_terminate(upload_id: str) -> Response[str]:
    check_version(app.current_event)
    service.terminate(current_caller(app), upload_id)
    logger.info("tus upload terminated", extra={"upload_id": upload_id})
    return tus_response(204, {})


lambda_handler = api_handler(app)
