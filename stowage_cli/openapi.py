"""`make openapi`: one OpenAPI 3.1 document for the whole API, at docs/openapi.json.

Routes and their auth come from template.yaml (what API Gateway serves); each
route's parameters, bodies and answers come from its handler's Powertools resolver
(the pydantic models). This merges them into one document and adds what no
single handler knows: the bearer scheme, the contract's error answers on every
route, API Gateway's own `{"message": ...}` answers, and the links between
operations (init → parts → complete → status) that stateful fuzzing follows.

The document is generated here, at development time, and committed; the OpenApi
function serves that file (functions/openapi/openapi.json is a link to it), and
tests/unit/test_openapi_document.py fails when it is out of date.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
OUTPUT = ROOT / "docs" / "openapi.json"
REF = "#/components/schemas/"

Json = dict[str, Any]

UPLOAD_GONE = ("UPLOAD_NOT_FOUND", "UPLOAD_COMPLETED", "UPLOAD_CANCELLED", "UPLOAD_EXPIRED")
DRAFT_GONE = ("DRAFT_NOT_FOUND", "DRAFT_EXPIRED")
TUS_GONE = ("UPLOAD_NOT_FOUND", "UPLOAD_EXPIRED")
TUS_CHUNK = ("UNSUPPORTED_VERSION", "UNSUPPORTED_MEDIA_TYPE", "OFFSET_MISMATCH")

# The contract codes the domain may answer on each route. Every route of the template
# must be here: a new route joins the document (and the fuzzing, which fails on an
# undocumented answer) by saying what it can answer. Codes that follow from a route's
# shape are added by `route_codes`: bad bodies, queries and path parameters, and what
# every keyed route may answer (FORBIDDEN, RATE_LIMITED, DATABASE_ERROR, …).
# Companion routes: the token in the path is the credential (no authorizer runs).
COMPANION_START = ("INVALID_TOKEN", "TOKEN_USED_UP", "FORBIDDEN", "MISSING_FIELD", "INVALID_FIELD")
COMPANION_UPLOAD = ("INVALID_TOKEN", "MISSING_FIELD", *UPLOAD_GONE)
ROUTE_ERRORS: dict[str, tuple[str, ...]] = {
    "GET /health": (),
    "GET /v1/openapi.json": (),
    "GET /": (),
    "GET /docs": (),
    "GET /assets/{name}": (),
    "POST /v1/uploads": ("FILE_TOO_LARGE",),
    "GET /v1/uploads": (),
    "POST /v1/uploads/{upload_id}/parts": UPLOAD_GONE,
    "GET /v1/uploads/{upload_id}": ("UPLOAD_NOT_FOUND",),
    "POST /v1/uploads/{upload_id}/complete": (
        *UPLOAD_GONE,
        "UPLOAD_INCOMPLETE",
        "SIZE_MISMATCH",
        "UPLOAD_COMPLETING",
    ),
    "DELETE /v1/uploads/{upload_id}": UPLOAD_GONE,
    "GET /v1/files": (),
    "GET /v1/files/{key+}": ("INVALID_FIELD", "FILE_NOT_FOUND"),
    "HEAD /v1/files/{key+}": ("INVALID_FIELD", "FILE_NOT_FOUND"),
    "DELETE /v1/files/{key+}": ("INVALID_FIELD", "FILE_NOT_FOUND"),
    "GET /v1/users/{user_id}/latest": ("INVALID_FIELD", "MISSING_FIELD", "FILE_NOT_FOUND"),
    "GET /v1/users/{user_id}/backups": ("INVALID_FIELD", "MISSING_FIELD"),
    "GET /v1/users/{user_id}/backups/latest": ("INVALID_FIELD", "MISSING_FIELD", "FILE_NOT_FOUND"),
    "POST /v1/drafts": ("FILE_TOO_LARGE",),
    "GET /v1/drafts/{draft_id}": ("DRAFT_NOT_FOUND",),
    "GET /v1/drafts/{draft_id}/content": (*DRAFT_GONE, "DRAFT_NOT_UPLOADED"),
    "POST /v1/drafts/{draft_id}/confirm": (
        *DRAFT_GONE,
        "DRAFT_NOT_UPLOADED",
        "DRAFT_CONFIRMING",
        "SIZE_MISMATCH",
    ),
    "DELETE /v1/drafts/{draft_id}": (*DRAFT_GONE, "DRAFT_CONFIRMED", "DRAFT_CONFIRMING"),
    "POST /v1/archives": ("INVALID_FIELD", "MISSING_FIELD", "FILE_NOT_FOUND", "FILE_TOO_LARGE"),
    "GET /v1/archives/{archive_id}": ("ARCHIVE_NOT_FOUND",),
    "GET /v1/archives/{archive_id}/content": ("ARCHIVE_NOT_FOUND", "ARCHIVE_NOT_READY"),
    "OPTIONS /v1/tus/": (),
    "POST /v1/tus/": (*TUS_CHUNK, "MISSING_FIELD", "INVALID_FIELD", "FILE_TOO_LARGE"),
    "HEAD /v1/tus/{upload_id}": (*TUS_GONE, "UNSUPPORTED_VERSION"),
    "PATCH /v1/tus/{upload_id}": (*TUS_GONE, *TUS_CHUNK, "INVALID_FIELD", "SIZE_MISMATCH"),
    "DELETE /v1/tus/{upload_id}": (*TUS_GONE, "UNSUPPORTED_VERSION", "UPLOAD_COMPLETED"),
    "POST /v1/upload-tokens": ("FILE_TOO_LARGE",),
    "GET /v1/usage": (),
    "POST /v1/usage/reports": (),
    "GET /v1/companion/{token}/s3/params": COMPANION_START,
    "POST /v1/companion/{token}/s3/multipart": COMPANION_START,
    "GET /v1/companion/{token}/s3/multipart/{upload_id}/{part_number}": (
        *COMPANION_UPLOAD,
        "INVALID_FIELD",
    ),
    "GET /v1/companion/{token}/s3/multipart/{upload_id}": COMPANION_UPLOAD,
    "POST /v1/companion/{token}/s3/multipart/{upload_id}/complete": (
        *COMPANION_UPLOAD,
        "UPLOAD_INCOMPLETE",
        "UPLOAD_COMPLETING",
        "FILE_TOO_LARGE",
    ),
    "DELETE /v1/companion/{token}/s3/multipart/{upload_id}": COMPANION_UPLOAD,
}
BAD_BODY = ("INVALID_JSON", "MISSING_FIELD", "INVALID_FIELD")
BAD_QUERY = ("INVALID_FIELD",)
# A path parameter with characters the handler's route cannot hold (a control
# character, say) reaches the function but matches none of its routes.
BAD_PATH = ("NOT_FOUND",)
KEYED_ERRORS = ("FORBIDDEN", "RATE_LIMITED", "DATABASE_ERROR", "STORAGE_ERROR")
# Every handler's resolver refuses a body over 1 MiB before parsing (stowage.resolver).
EVERY_ROUTE_ERRORS = ("PAYLOAD_TOO_LARGE", "RATE_LIMITED", "INTERNAL_ERROR")

# API Gateway's own answers, `{"message": ...}`: HTTP APIs cannot reshape them.
GATEWAY_ANSWERS = {
    401: "Unauthorized: no Authorization header",
    403: "Forbidden: an unknown, malformed or disabled key",
    404: "Not Found: the path matches no route (an empty path parameter, say)",
    413: "Request Entity Too Large: a body over API Gateway's 10 MB",
    429: "Too Many Requests: over the route's throttling limits",
    500: "Internal Server Error: the function failed (a bug, never expected)",
}

# OpenAPI links, for readers and for stateful fuzzing: (operation, status) →
# link name → (target operation, parameters from the answer).
UPLOAD_ID = {"upload_id": "$response.body#/upload_id"}
DRAFT_ID = {"draft_id": "$response.body#/draft_id"}
FILE_KEY = {"key": "$response.body#/key"}
UPLOAD_STEPS = {
    "SignParts": ("UploadParts", UPLOAD_ID),
    "Status": ("UploadStatus", UPLOAD_ID),
    "Complete": ("UploadComplete", UPLOAD_ID),
    "Cancel": ("UploadCancel", UPLOAD_ID),
}
DRAFT_STEPS = {
    "Status": ("DraftStatus", DRAFT_ID),
    "Preview": ("DraftContent", DRAFT_ID),
    "Confirm": ("DraftConfirm", DRAFT_ID),
    "Discard": ("DraftDiscard", DRAFT_ID),
}
USER_STEPS = {
    "UserLatest": ("UserLatest", {"user_id": "$response.body#/user_id"}),
    "UserBackups": ("BackupList", {"user_id": "$response.body#/user_id"}),
    "UserLatestBackup": ("BackupLatest", {"user_id": "$response.body#/user_id"}),
}
FILE_STEPS = {
    "Download": ("DownloadGet", FILE_KEY),
    "Exists": ("DownloadHead", FILE_KEY),
    "Delete": ("FileDelete", FILE_KEY),
}
LINKS: dict[tuple[str, int], dict[str, tuple[str, dict[str, str]]]] = {
    ("UploadInit", 201): UPLOAD_STEPS,
    ("UploadParts", 200): UPLOAD_STEPS,
    ("UploadStatus", 200): UPLOAD_STEPS | USER_STEPS,
    ("UploadComplete", 200): {"Status": UPLOAD_STEPS["Status"], **FILE_STEPS},
    ("UploadList", 200): {
        "FirstStatus": ("UploadStatus", {"upload_id": "$response.body#/uploads/0/upload_id"})
    },
    ("DraftCreate", 201): DRAFT_STEPS,
    ("DraftStatus", 200): DRAFT_STEPS | USER_STEPS,
    ("DraftConfirm", 200): {"Status": DRAFT_STEPS["Status"], **FILE_STEPS},
    ("FileList", 200): {"FirstFile": ("DownloadGet", {"key": "$response.body#/files/0/key"})},
}

# A link to these operations also gives the body: the first part is the one every
# upload has, so a sequence signs a part it can then upload and complete.
LINK_BODIES: dict[str, Json] = {"UploadParts": {"part_numbers": [1]}}

DESCRIPTION = """\
stowage puts files of any size in S3 through presigned URLs: file bytes never pass \
through the API. The HTTP contract is the project's CONTRACT.md; this document is \
generated from template.yaml and the handlers' pydantic models (`make openapi`).

Every route but `/health`, `/v1/openapi.json` and the web page's (`/`, `/docs`, \
`/assets/…`) needs `Authorization: Bearer stw_…`. \
Errors are `{"error": {"code", "message", "timestamp"}}` (+ `field`, `missing`); each \
error answer lists the codes it can carry in `x-error-codes`. API Gateway answers some \
requests itself with `{"message": ...}` (401, 403, 404, 413, 429).

Requests are strict: an unknown field, or a value of another type, is refused, never \
coerced; that includes an integer written as `1.0`. Query parameters a route does \
not know are ignored.

`{key}` in `/v1/files/{key}` is a whole key, percent-encoded; `/` may stay literal \
or be `%2F` (the route is API Gateway's greedy `{key+}`).
"""


class OpenApiError(Exception):
    """The template and the handlers disagree, or a route is not described."""


# ---------------------------------------------------------------- the handlers


def load_stack() -> Any:
    from devstack.template import load_template

    return load_template(TEMPLATE)


def import_handler(logical_id: str, path: Path) -> ModuleType:
    """Import one handler module under its own name (they are all `app.py`)."""
    spec = importlib.util.spec_from_file_location(f"openapi_{logical_id}", path)
    if spec is None or spec.loader is None:
        raise OpenApiError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic looks models' modules up here
    spec.loader.exec_module(module)
    return module


def handler_modules(stack: Any) -> Iterator[tuple[Any, ModuleType]]:
    """Each routed function with its imported handler, in the environment the
    template gives them (local stand-ins: nothing is called at import time)."""
    from devstack.functions import local_environment
    from devstack.runtime import EnvironmentPatch

    environment = EnvironmentPatch(local_environment(stack, "http://127.0.0.1:9"))
    environment.apply()
    try:
        for spec in stack.functions:
            if spec.routes:
                path = stack.base_dir / spec.code_uri / "app.py"
                yield spec, import_handler(spec.logical_id, path)
    finally:
        environment.restore()


# ------------------------------------------------------------------ operations


def document_path(template_path: str) -> str:
    """`/v1/files/{key+}` → `/v1/files/{key}`: OpenAPI has no greedy parameters."""
    return re.sub(r"\{(\w+)\+\}", r"{\1}", template_path)


def find_operation(schema: Json, route: Any, logical_id: str) -> Json:
    """The handler's operation for this template route; its path must agree."""
    method = route.method.lower()
    found = [(path, ops[method]) for path, ops in schema["paths"].items() if method in ops]
    if len(found) > 1:  # a function with several routes of one method (Web's pages)
        found = [(path, op) for path, op in found if path == document_path(route.path)]
    if len(found) != 1:
        raise OpenApiError(f"{logical_id}: expected one {route.method} route, found {len(found)}")
    path, operation = found[0]
    greedy = re.search(r"\{(\w+)\+\}", route.path)
    if greedy:
        path = path.replace(".+", "{" + greedy.group(1) + "}")
    if path != document_path(route.path):
        raise OpenApiError(f"{logical_id}: handler serves {path}, template routes {route.path}")
    return copy.deepcopy(operation)


# Where one function serves several routes of the same method.
OPERATION_IDS = {"GET /": "WebPage", "GET /docs": "WebReference", "GET /assets/{name}": "WebAsset"}


def operation_id(spec: Any, route: Any) -> str:
    """The function's logical id, with the method when a function has several routes."""
    if f"{route.method} {route.path}" in OPERATION_IDS:
        return OPERATION_IDS[f"{route.method} {route.path}"]
    if len(spec.routes) == 1:
        return str(spec.logical_id)
    return f"{spec.logical_id}{route.method.title()}"


def path_parameters(operation: Json, route: Any) -> None:
    """API Gateway only routes non-empty segments; a greedy key also holds slashes."""
    parameters = operation.setdefault("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "path":
            parameter["schema"]["minLength"] = 1
    greedy = re.search(r"\{(\w+)\+\}", route.path)
    if greedy:
        description = (
            "The whole key as complete or confirm returned it, percent-encoded; "
            "`/` may stay literal or be `%2F`."
        )
        schema = {"type": "string", "minLength": 1}
        parameters.insert(
            0,
            {
                "name": greedy.group(1),
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
            },
        )
    if not parameters:
        del operation["parameters"]


def tag_of(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1].removesuffix(".json") if parts[0] == "v1" and len(parts) > 1 else "service"


# Where a function's template Description does not fit one of its routes.
SUMMARIES = {
    "HEAD /v1/files/{key+}": "Whether the caller has this file: 200 or 404, no body.",
    "GET /": "The upload page: Uppy's Dashboard and the caller's files, in a browser.",
    "GET /docs": "This API reference, rendered by Swagger UI.",
    "GET /assets/{name}": "A bundled script or style sheet of the pages (hashed name).",
}


def describe(operation: Json, spec: Any, route: Any, module: ModuleType) -> None:
    operation["operationId"] = operation_id(spec, route)
    operation["summary"] = SUMMARIES.get(f"{route.method} {route.path}") or spec_description(spec)
    operation["description"] = inspect.cleandoc(module.__doc__ or "")
    operation["tags"] = [tag_of(route.path)]


def spec_description(spec: Any) -> str:
    resource = template_resources()[spec.logical_id]
    return str(resource["Properties"].get("Description", "")).strip()


@cache
def template_resources() -> Json:
    from devstack.template import read_template

    return dict(read_template(TEMPLATE)["Resources"])


# ---------------------------------------------------------------------- errors


def codes_by_status() -> dict[str, int]:
    from stowage import errors

    found = {
        cls.code: cls.status
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.StowageError)
    }
    return dict(sorted(found.items()))


def route_codes(operation: Json, route: Any) -> list[str]:
    """The domain's codes for the route, and those that follow from its shape."""
    key = f"{route.method} {route.path}"
    if key not in ROUTE_ERRORS:
        raise OpenApiError(f"{key}: not in ROUTE_ERRORS (stowage_cli/openapi.py)")
    places = {parameter["in"] for parameter in operation.get("parameters", [])}
    codes = [
        *(BAD_BODY if "requestBody" in operation else ()),
        *(BAD_QUERY if "query" in places else ()),
        *(BAD_PATH if "path" in places else ()),
        *ROUTE_ERRORS[key],
        *(KEYED_ERRORS if route.authorizer else ()),
        *EVERY_ROUTE_ERRORS,
    ]
    return list(dict.fromkeys(codes))


def gateway_statuses(operation: Json, route: Any) -> set[int]:
    """The statuses API Gateway itself may answer this route with."""
    statuses = {429, 500}
    if route.authorizer:
        statuses |= {401, 403}
    if "{" in route.path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.add(413)
    return statuses


def error_responses(operation: Json, route: Any) -> dict[str, Json]:
    """One answer per status: the contract's codes for it and/or API Gateway's message."""
    status_of = codes_by_status()
    codes: dict[int, list[str]] = {}
    for code in route_codes(operation, route):
        codes.setdefault(status_of[code], []).append(code)
    gateway = gateway_statuses(operation, route)
    answers: dict[str, Json] = {}
    for status in sorted(set(codes) | gateway):
        schemas = [{"$ref": REF + "Error"}] if status in codes else []
        lines = [f"`{code}`" for code in codes.get(status, [])]
        if status in gateway:
            schemas.append({"$ref": REF + "GatewayMessage"})
            lines.append(f"API Gateway's {GATEWAY_ANSWERS[status]}")
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        answer: Json = {
            "description": "; ".join(lines),
            "content": {"application/json": {"schema": schema}},
        }
        if status in codes:
            answer["x-error-codes"] = codes[status]
        answers[str(status)] = answer
    return answers


def error_components() -> dict[str, Json]:
    from stowage.models.errors import ErrorResponse

    generated = ErrorResponse.model_json_schema(ref_template=REF + "{model}", mode="serialization")
    detail = generated.pop("$defs")["ErrorDetail"]
    detail["additionalProperties"] = False
    detail["properties"]["code"]["enum"] = list(codes_by_status())
    detail["properties"]["timestamp"] = {
        "type": "string",
        "description": "RFC 3339, UTC, to the second",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    }
    generated["additionalProperties"] = False
    generated["title"] = "Error"
    gateway = {
        "title": "GatewayMessage",
        "description": "An answer API Gateway gives itself; HTTP APIs cannot reshape it.",
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
        "additionalProperties": False,
    }
    return {"Error": generated, "ErrorDetail": detail, "GatewayMessage": gateway}


# ----------------------------------------------------------------------- links


def add_links(operations: dict[str, Json]) -> None:
    for (source, status), links in LINKS.items():
        response = operations[source]["responses"][str(status)]
        response["links"] = {
            name: {"operationId": target, "parameters": dict(parameters)}
            | ({"requestBody": LINK_BODIES[target]} if target in LINK_BODIES else {})
            for name, (target, parameters) in links.items()
        }
        for target, _ in links.values():
            if target not in operations:
                raise OpenApiError(f"link from {source} to unknown operation {target}")


# -------------------------------------------------------------------- assembly


KEY_ORDER = ("operationId", "summary", "description", "tags", "parameters", "requestBody")


def finish_operation(operation: Json, route: Any) -> Json:
    """Contract errors instead of Powertools' 422, no body where none is sent, auth."""
    responses = operation.pop("responses")
    responses.pop("422", None)  # validation problems are the contract's 400s
    responses.update(error_responses(operation, route))
    tus = route.path.startswith("/v1/tus/")  # tus answers in headers only
    for status, response in responses.items():
        if route.method == "HEAD" or status in ("204", "302") or (tus and status[0] == "2"):
            response.pop("content", None)
    operation["responses"] = dict(sorted(responses.items()))
    if route.authorizer is None:
        operation["security"] = []
    first = {key: operation.pop(key) for key in KEY_ORDER if key in operation}
    return first | operation


def merge_components(target: dict[str, Json], schemas: dict[str, Json], where: str) -> None:
    for name, schema in schemas.items():
        if name in target and target[name] != schema:
            raise OpenApiError(f"{where}: two different schemas are named {name}")
        target[name] = schema


def referenced(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref.removeprefix(REF)
        for value in node.values():
            yield from referenced(value)
    elif isinstance(node, list):
        for value in node:
            yield from referenced(value)


def used_components(paths: Json, schemas: dict[str, Json]) -> dict[str, Json]:
    """Only the schemas the paths reach (Powertools' validation-error ones are not)."""
    seen: set[str] = set()
    pending = list(referenced(paths))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(referenced(schemas[name]))
    return {name: schemas[name] for name in sorted(seen)}


def whole_numbers(node: Any) -> Any:
    """Powertools writes bounds as floats (`5242880.0`); integers read better."""
    if isinstance(node, dict):
        return {key: whole_numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [whole_numbers(value) for value in node]
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node


def build_document() -> Json:
    """The whole API, in the template's route order."""
    from stowage import __version__

    stack = load_stack()
    paths: dict[str, Json] = {}
    operations: dict[str, Json] = {}
    schemas: dict[str, Json] = error_components()
    for spec, module in handler_modules(stack):
        generated = json.loads(module.app.get_openapi_json_schema())
        merge_components(schemas, generated.get("components", {}).get("schemas", {}), spec.code_uri)
        for route in spec.routes:
            operation = find_operation(generated, route, spec.logical_id)
            describe(operation, spec, route, module)
            path_parameters(operation, route)
            operation = finish_operation(operation, route)
            paths.setdefault(document_path(route.path), {})[route.method.lower()] = operation
            operations[operation["operationId"]] = operation
    add_links(operations)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "stowage", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "The API's base URL (the ApiUrl output)"}],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "schemas": used_components(paths, schemas),
            "securitySchemes": {
                "ApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, `stw_…`, from `make admin ARGS=create-client`",
                }
            },
        },
    }
    return whole_numbers(document)  # type: ignore[no-any-return]


def render(document: Json) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m stowage_cli openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is stale")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.stdout:
        sys.stdout.write(text)
    elif args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run make openapi", file=sys.stderr)
            return 1
    else:
        OUTPUT.parent.mkdir(exist_ok=True)
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0
