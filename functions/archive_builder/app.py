"""Invoked asynchronously with `{"archive_id"}`: build that archive's zip, under its lease
(a second delivery of the same event finds it held, or finished, and does nothing)."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_archive_builder

builder = build_archive_builder()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    archive_id = str(event["archive_id"])
    time_left = timedelta(milliseconds=context.get_remaining_time_in_millis())
    outcome = builder.build(archive_id, time_left)
    logger.info("archive build finished", extra={"archive_id": archive_id, "outcome": outcome})
    return {"archive_id": archive_id, "outcome": outcome}
