"""HTTP glue shared by every handler: the resolver, the caller, and error answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from stowage.errors import (
    ForbiddenError,
    InternalError,
    InvalidFieldError,
    InvalidJsonError,
    MissingFieldError,
    NotFoundError,
    StowageError,
)
from stowage.models.files import DownloadLinkResponse
from stowage.models.identity import Caller
from stowage.models.uploads import DeduplicatedResponse
from stowage.observability import logger, metrics, tracer
from stowage.resolver import LimitedResolver


def create_app() -> APIGatewayHttpResolver:
    """A resolver that validates with pydantic and answers every error in contract shape."""
    app = LimitedResolver(enable_validation=True)  # 413 to an oversized body, unparsed
    app.exception_handler(StowageError)(error_response)
    app.exception_handler(RequestValidationError)(validation_response)
    # Powertools reads a body by its Content-Type before validating it.
    app.exception_handler(RequestUnsupportedContentType)(lambda e: unreadable_body(app, e))
    app.exception_handler(ValueError)(lambda exc: unreadable_body(app, exc))
    app.not_found()(lambda _exc: error_response(NotFoundError("no such route")))
    app.exception_handler(Exception)(unexpected_response)
    return app


ApiHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def api_handler(app: APIGatewayHttpResolver) -> ApiHandler:
    """The Lambda entry point of an API function (`lambda_handler = api_handler(app)`): the
    request id as correlation id in every log line, a trace that never holds the answer (many
    answers are presigned URLs), and the ColdStart metric."""

    # Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it holds API keys and,
    # on the Companion routes, upload tokens in the path.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
    )
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    entry: ApiHandler = lambda_handler  # Powertools' decorators are typed loosely
    return entry


def current_caller(app: APIGatewayHttpResolver) -> Caller:
    """The client the authorizer vouched for (`requestContext.authorizer.lambda`)."""
    context = app.current_event.request_context.authorizer.get_lambda or {}
    try:
        return Caller.model_validate(context)
    except ValidationError as exc:
        raise ForbiddenError("the request carries no valid client identity") from exc


def created_response(answer: BaseModel) -> Response[str]:
    """201 for something new; 200 when a backup was already stored (deduplicated)."""
    status = 200 if isinstance(answer, DeduplicatedResponse) else 201
    return Response(status, "application/json", answer.model_dump_json())


def link_response(link: DownloadLinkResponse, *, redirect: bool) -> Response[str]:
    """A presigned link: 302 to it, or (`redirect=false`) the link as JSON. Never cached."""
    headers = {"Cache-Control": "no-store"}
    if not redirect:
        return Response(200, "application/json", link.model_dump_json(), headers)
    return Response(302, "application/json", "", headers | {"Location": link.url})


def path_key(app: APIGatewayHttpResolver) -> str:
    """The `{key+}` of a file route. HTTP APIs hand it over already percent-decoded,
    slashes and all, so it is the key itself."""
    key: str = app.current_event.path_parameters["key"]
    return key


def error_response(error: StowageError) -> Response[str]:
    if error.status >= 500:
        logger.warning("request failed", extra={"code": error.code, "reason": error.message})
    return Response(
        status_code=error.status,
        content_type="application/json",
        body=json.dumps(error.to_body()),
    )


def validation_response(exc: RequestValidationError) -> Response[str]:
    return error_response(to_contract_error(exc.errors()))


def to_contract_error(errors: Any) -> StowageError:
    """The first validation problem, as MISSING_FIELD, INVALID_JSON or INVALID_FIELD."""
    first = next(iter(errors), {"type": "", "loc": (), "msg": "invalid request"})
    kind = first.get("type", "")
    location = [str(part) for part in first.get("loc", ())[1:]]
    field = ".".join(location) or "body"
    if kind == "json_invalid":
        context = first.get("ctx")
        reason = context.get("error") if isinstance(context, dict) else None
        return InvalidJsonError(
            f"the body is not valid JSON: {reason}" if reason else "the body is not valid JSON"
        )
    if field == "body":
        return InvalidJsonError("the body must be a JSON object")
    if kind == "missing":
        return MissingFieldError(f"{field} is required", field=field)
    return InvalidFieldError(f"{field}: {first.get('msg', 'invalid value')}", field=field)


def unreadable_body(app: APIGatewayHttpResolver, exc: Exception) -> Response[str]:
    """A body that is not UTF-8, or sent as another type than JSON (text/plain, a
    multipart form without a boundary), fails as Powertools reads it: the client's
    INVALID_JSON, not a crash. Any other ValueError is a bug."""
    if _reads_as_json_text(app):
        return unexpected_response(exc)
    return error_response(
        InvalidJsonError("the body must be UTF-8 JSON (Content-Type: application/json)")
    )


def _reads_as_json_text(app: APIGatewayHttpResolver) -> bool:
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").strip().lower()
    if content_type and not content_type.startswith("application/json"):
        return False
    try:
        _ = event.decoded_body
    except UnicodeDecodeError:
        return False
    return True


def unexpected_response(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return error_response(InternalError("an unexpected error occurred"))


def api_base(app: APIGatewayHttpResolver) -> str:
    """The API's own base URL, as the caller reached it: scheme, `domainName` and, on a
    named stage, the stage (the `$default` stage has no path segment)."""
    event = app.current_event
    context = event.request_context
    scheme = (event.headers.get("x-forwarded-proto") or "https").split(",")[0].strip()
    stage = context.stage
    suffix = "" if stage in ("", "$default") else f"/{stage}"
    return f"{scheme}://{context.domain_name}{suffix}"


def form_query(app: APIGatewayHttpResolver, name: str, default: str | None = None) -> str:
    """A query parameter as a browser's URLSearchParams wrote it (form encoding: `+` is a
    space), read from the raw query string, which API Gateway passes on untouched.
    Missing and no default: 400 MISSING_FIELD."""
    raw = app.current_event.raw_query_string
    try:
        values = parse_qs(raw, keep_blank_values=True, errors="strict").get(name)
    except UnicodeDecodeError as exc:
        raise InvalidFieldError("the query string is not UTF-8", field=name) from exc
    if values:
        return values[0]
    if default is None:
        raise MissingFieldError(f"{name} is required", field=name)
    return default
