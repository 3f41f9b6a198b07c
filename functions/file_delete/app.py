"""DELETE /v1/files/{key+}: delete one of the caller's files."""

from stowage.api import api_handler, create_app, current_caller, path_key
from stowage.models.files import DeleteFileResponse
from stowage.observability import logger
from stowage.wiring import build_file_service

app = create_app()
service = build_file_service()


@app.delete("/v1/files/.+")
def delete_file() -> DeleteFileResponse:
    key = path_key(app)
    answer = service.delete(current_caller(app), key)
    logger.info("file deleted", extra={"key_length": len(key)})
    return answer


lambda_handler = api_handler(app)
