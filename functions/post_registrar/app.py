"""S3 → EventBridge "Object Created" for a POST into the drafts bucket: a browser's
single-request upload (GET /s3/params) becomes the user's file here. Events come at
least once and in any order; registering is idempotent."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_post_registrar

registrar = build_post_registrar()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    key = str(event.detail["object"]["key"])
    outcome = registrar.register(key)
    logger.info("browser post", extra={"outcome": outcome, "reason": event.detail.get("reason")})
    return {"key": key, "outcome": outcome}
