"""Scheduled (EventBridge): abort stale multipart uploads, expire drafts, delete old
draft objects. Safe to run by hand at any time; it only removes what has expired."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from stowage.observability import logger, metrics, tracer
from stowage.wiring import build_cleanup_service

service = build_cleanup_service()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = asdict(service.run())
    for name, count in report.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    logger.info("cleanup finished", extra=report)
    return report
