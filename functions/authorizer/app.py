"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): API key → client.

API Gateway answers 401 itself when the Authorization header is missing and
403 when this says no; it caches the answer per header for the configured TTL.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_authorizer

authorizer = build_authorizer()


# Never log the event: it carries the key.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    caller = authorizer.authorize(event.headers.get("authorization"))
    if caller is None:
        logger.info("key refused", extra={"route": event.route_key})
        return APIGatewayAuthorizerResponseV2(authorize=False).asdict()
    logger.info("key accepted", extra={"client_id": caller.client_id, "route": event.route_key})
    return APIGatewayAuthorizerResponseV2(authorize=True, context=caller.model_dump()).asdict()
