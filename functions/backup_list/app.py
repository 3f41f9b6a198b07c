"""GET /v1/users/{user_id}/backups?app=&role=: the user's backups, newest first."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller
from stowage.models.common import AppName, Name
from stowage.models.files import BackupListResponse
from stowage.observability import logger, metrics, tracer
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
