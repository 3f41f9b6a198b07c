"""GET /v1/users/{user_id}/backups/latest?app=&role=: 302 to the user's newest backup."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller, link_response
from stowage.models.common import AppName, Name
from stowage.responses import link_responses
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.get("/v1/users/<user_id>/backups/latest", responses=link_responses("the backup"))
def latest_backup(
    user_id: str,
    app_name: Annotated[AppName | None, Query(alias="app")] = None,
    role: Annotated[Name | None, Query()] = None,
    redirect: Annotated[bool, Query()] = True,
) -> Response[str]:
    link = service.latest_backup_link(current_caller(app), user_id, role, app_name)
    return link_response(link, redirect=redirect)


lambda_handler = api_handler(app)
