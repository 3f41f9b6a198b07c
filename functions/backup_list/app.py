"""GET /v1/users/{user_id}/backups?app=&role=: the user's backups, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from stowage.api import api_handler, create_app, current_caller
from stowage.models.common import AppName, Name
from stowage.models.files import BackupListResponse
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.get("/v1/users/<user_id>/backups")
def list_backups(
    user_id: str,
    app_name: Annotated[AppName | None, Query(alias="app")] = None,
    role: Annotated[Name | None, Query()] = None,
) -> BackupListResponse:
    return service.list_backups(current_caller(app), user_id, role, app_name)


lambda_handler = api_handler(app)
