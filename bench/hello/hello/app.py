"""POST /hello: Powertools' HTTP API resolver, logger and metrics, and nothing else."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

logger = Logger()
metrics = Metrics(namespace="Hello")
app = APIGatewayHttpResolver()


@app.post("/hello")
def hello() -> dict[str, str]:
    logger.info("hello")
    return {"hello": "world"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
