"""GET /v1/users/{user_id}/latest?category=&name_prefix=&role=: 302 to the user's newest
matching file (an `act_as` client may ask for its users, others for themselves)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller, link_response
from stowage.domain.categories import Category
from stowage.domain.files import LatestQuery
from stowage.models.common import Name
from stowage.responses import link_responses
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.get("/v1/users/<user_id>/latest", responses=link_responses("the file"))
def latest(
    user_id: str,
    category: Annotated[Category | None, Query()] = None,
    name_prefix: Annotated[str | None, Query(max_length=255)] = None,
    role: Annotated[Name | None, Query()] = None,
    redirect: Annotated[bool, Query()] = True,
) -> Response[str]:
    wanted = LatestQuery(user_id, role, category, name_prefix)
    return link_response(service.latest_link(current_caller(app), wanted), redirect=redirect)


lambda_handler = api_handler(app)
