"""The stowage HTTP contract (v1) as Python calls: one method per route.

Answers are the contract's JSON as dicts. Failures raise ApiError with the
contract's error code; transient ones (429, 5xx, timeouts, resets, and the
"being completed, retry shortly" conflicts) are retried with backoff first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from stowage_client import __version__
from stowage_client.retry import TRANSIENT_STATUSES, RetryPolicy, is_transient_error, retrying

# 409s that mean "another request holds this; its answer is coming": retry them.
BUSY_CODES = frozenset({"UPLOAD_COMPLETING", "DRAFT_CONFIRMING"})


class ApiError(Exception):
    """The API refused a request; `code` is the contract's error code."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.body = status, code, message, body

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES or self.code in BUSY_CODES


def should_retry(error: BaseException) -> bool:
    if isinstance(error, ApiError):
        return error.transient
    return is_transient_error(error)


def error_from(response: httpx.Response) -> ApiError:
    """The contract's error document, or API Gateway's own 401/403 bodies."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    detail = body.get("error")
    if isinstance(detail, dict):
        code, message = str(detail.get("code", "")), str(detail.get("message", ""))
    elif response.status_code in (401, 403):
        code, message = "UNAUTHORIZED", "the API key was refused; check STOWAGE_API_KEY"
    else:
        code, message = f"HTTP_{response.status_code}", response.text[:200]
    return ApiError(response.status_code, code, message, body)


def file_path(key: str) -> str:
    """`/v1/files/{key}` with the key percent-encoded; its slashes may stay literal."""
    return "/v1/files/" + quote(key, safe="/")


@dataclass
class StowageApi:
    http: httpx.Client
    url: str
    api_key: str
    retry: RetryPolicy = RetryPolicy()

    # -- multipart uploads

    def init_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/v1/uploads", json=body)

    def sign_parts(
        self, upload_id: str, numbers: list[int], checksums: dict[int, str] | None = None
    ) -> list[dict[str, Any]]:
        """Presigned PUTs; parts given a checksum get it signed in (and its header back)."""
        body: dict[str, Any] = {"part_numbers": numbers}
        if checksums:
            body = {"parts": [{"part_number": n, "checksum": checksums[n]} for n in numbers]}
        answer = self.call("POST", f"/v1/uploads/{upload_id}/parts", json=body)
        parts: list[dict[str, Any]] = answer["parts"]
        return parts

    def upload_status(self, upload_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/uploads/{upload_id}")

    def complete_upload(
        self, upload_id: str, parts: list[dict[str, Any]], checksum: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"parts": parts}
        if checksum:
            body["checksum"] = checksum
        return self.call("POST", f"/v1/uploads/{upload_id}/complete", json=body)

    def cancel_upload(self, upload_id: str) -> dict[str, Any]:
        return self.call("DELETE", f"/v1/uploads/{upload_id}")

    # -- drafts

    def create_draft(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/v1/drafts", json=body)

    def confirm_draft(self, draft_id: str) -> dict[str, Any]:
        return self.call("POST", f"/v1/drafts/{draft_id}/confirm")

    # -- files

    def download_link(self, key: str) -> dict[str, Any]:
        return self.call("GET", file_path(key), params={"redirect": "false"})

    def file_info(self, key: str) -> dict[str, Any]:
        return self.call("GET", file_path(key), params={"info": "true"})

    def file_exists(self, key: str) -> bool:
        response = self.send("HEAD", file_path(key))
        if response.status_code == 404:
            return False
        raise_for_error(response)
        return True

    def delete_file(self, key: str) -> dict[str, Any]:
        return self.call("DELETE", file_path(key))

    def list_files(
        self, prefix: str = "", limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        params = {"prefix": prefix, "limit": limit, "cursor": cursor}
        chosen = {name: value for name, value in params.items() if value not in (None, "")}
        return self.call("GET", "/v1/files", params=chosen)

    def latest_link(self, user_id: str, category: str = "", name_prefix: str = "") -> str:
        """The presigned GET URL of a user's newest file (the route answers 302)."""
        params = {"category": category, "name_prefix": name_prefix}
        chosen = {name: value for name, value in params.items() if value}
        path = f"/v1/users/{quote(user_id, safe='')}/latest"
        response = self.send("GET", path, params=chosen)
        raise_for_error(response)
        if response.status_code != 302 or "location" not in response.headers:
            raise ApiError(response.status_code, "UNEXPECTED", "expected a redirect", {})
        return response.headers["location"]

    # -- usage

    def send_usage_report(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/v1/usage/reports", json=body)

    def usage(self, days: int = 7) -> dict[str, Any]:
        return self.call("GET", "/v1/usage", params={"days": days})

    # -- archives

    def create_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/v1/archives", json=body)

    def archive_status(self, archive_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/archives/{quote(archive_id, safe='')}")

    def archive_link(self, archive_id: str) -> dict[str, Any]:
        path = f"/v1/archives/{quote(archive_id, safe='')}/content"
        return self.call("GET", path, params={"redirect": "false"})

    # -- plumbing

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One JSON request, retried while the failure is transient."""
        response = self.send(method, path, **kwargs)
        raise_for_error(response)
        body: dict[str, Any] = response.json()
        return body

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}", "User-Agent": USER_AGENT}

        def once() -> httpx.Response:
            response = self.http.request(method, self.url + path, headers=headers, **kwargs)
            if response.status_code >= 400:
                error = error_from(response)
                if error.transient:
                    raise error
            return response

        return retrying(once, self.retry, should_retry)


USER_AGENT = f"stowage-client/{__version__}"


def raise_for_error(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_from(response)
