"""GET /v1/users/{user_id}/backups/latest?app=&role=: 302 to the user's newest backup."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.api import create_app, current_caller, link_response
from stowage.models.common import AppName, Name
from stowage.observability import logger, metrics, tracer
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
