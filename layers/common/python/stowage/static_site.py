"""The web page's built files (`make web` → functions/web/static/) as HTTP answers.

Pages (`index.html`, `docs.html`) are revalidated on every visit (`no-cache` with an
ETag); assets carry a content hash in their name, so browsers keep them for a year.
Only files the build listed in `build.json` are served, by exact name: nothing from a
path a request makes up. Bodies are text (HTML, JS, CSS), gzipped when the browser
accepts it, which keeps the 1.6 MB API reference well inside Lambda's 6 MB answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from stowage.errors import NotFoundError

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
# Uppy and Swagger UI set inline style attributes; scripts come only from this origin.
# The page talks to this API and PUTs/POSTs straight to S3 (https, or the local stack).
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}
PAGE_HEADERS = COMMON_HEADERS | {
    "Content-Security-Policy": PAGE_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str
    headers: dict[str, str]

    def response(self, if_none_match: str | None) -> Response[str]:
        """200 with the body (gzipped if accepted), or 304 when the browser has it."""
        headers = self.headers | {"ETag": self.etag}
        if if_none_match and self.etag in (tag.strip() for tag in if_none_match.split(",")):
            return Response(304, self.content_type, "", headers)
        return Response(200, self.content_type, self.body, headers, compress=True)


class StaticSite:
    """The pages and assets of one build, read once (at cold start)."""

    def __init__(self, root: Path) -> None:
        manifest = json.loads((root / "build.json").read_text(encoding="utf-8"))
        self.pages = {
            name: _load(root / name, PAGE_HEADERS | {"Cache-Control": PAGE_CACHE})
            for name in manifest["pages"]
        }
        self.assets = {
            name: _load(root / "assets" / name, COMMON_HEADERS | {"Cache-Control": ASSET_CACHE})
            for name in manifest["assets"]
            if Path(name).suffix in CONTENT_TYPES
        }

    def page(self, name: str) -> StaticFile:
        return self.pages[name]

    def asset(self, name: str) -> StaticFile:
        found = self.assets.get(name)
        if found is None:
            raise NotFoundError(f"no asset named {name!r}")
        return found


def _load(path: Path, headers: dict[str, str]) -> StaticFile:
    body = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    return StaticFile(body, CONTENT_TYPES[path.suffix], f'"{digest}"', headers)
