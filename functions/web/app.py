"""The upload page (`GET /`), the API reference (`GET /docs`) and their assets
(`GET /assets/{name}`), no key needed.

They are built by `make web` (web/ → static/ beside this file) and committed, so the
stack serves them with no Node and no CDN. The page asks for the API key in the browser
or reads a token from the address fragment; nothing here sees either.
"""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from stowage.api import api_handler, create_app
from stowage.static_site import StaticFile, StaticSite

site = StaticSite(Path(__file__).with_name("static"))
app = create_app()


def text(what: str, *types: str) -> dict[int, OpenAPIResponse]:
    """A 200 of one of `types` (an ETag it may revalidate against: If-None-Match → 304)."""
    schema = {"type": "string", "description": what}
    return {200: {"description": what, "content": {t: {"schema": schema} for t in types}}}


def answer(found: StaticFile) -> Response[str]:
    return found.response(app.current_event.headers.get("if-none-match"))


@app.get("/", responses=text("The upload page", "text/html"))
def upload_page() -> Response[str]:
    return answer(site.page("index.html"))


@app.get("/docs", responses=text("The API reference", "text/html"))
def reference_page() -> Response[str]:
    return answer(site.page("docs.html"))


@app.get(
    "/assets/<name>",
    responses=text("A script or style sheet of the pages", "text/javascript", "text/css"),
)
def asset(name: str) -> Response[str]:
    return answer(site.asset(name))


lambda_handler = api_handler(app)
