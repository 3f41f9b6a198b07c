"""GET {endpoint}/s3/params?filename=&type=: a presigned POST for a browser's single
upload (@uppy/aws-s3 6.x), into the drafts bucket; S3's event registers the file."""

from stowage.api import api_handler, create_app, form_query
from stowage.models.browser import PostParamsResponse
from stowage.wiring import build_companion_service

app = create_app()
service = build_companion_service()


@app.get("/v1/companion/<token>/s3/params")
def post_params(token: str) -> PostParamsResponse:
    kind = form_query(app, "type", "application/octet-stream")
    return service.post_params(token, form_query(app, "filename"), kind)


lambda_handler = api_handler(app)
