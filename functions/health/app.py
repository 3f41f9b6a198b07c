"""GET /health: liveness, no key needed."""

from stowage import __version__
from stowage.api import api_handler, create_app
from stowage.models.health import HealthResponse

app = create_app()


@app.get("/health")
def health() -> HealthResponse:
    return HealthResponse(status="ok", version=__version__)


lambda_handler = api_handler(app)
