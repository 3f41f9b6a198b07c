"""A thin HTTP client for tests: the base URL, the key, and helpers for the upload flow."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import requests


class Api:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.http = requests.Session()

    def headers(self, api_key: str | None = None) -> dict[str, str]:
        key = api_key if api_key is not None else self.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def call(
        self, method: str, path: str, *, api_key: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = self.headers(api_key) | kwargs.pop("headers", {})
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.url + path, headers=headers, **kwargs)

    def init(self, **body: Any) -> requests.Response:
        body.setdefault("file_name", unique_name())
        return self.call("POST", "/v1/uploads", json=body)

    def sign(self, upload_id: str, numbers: list[int]) -> list[dict[str, Any]]:
        answer = self.call("POST", f"/v1/uploads/{upload_id}/parts", json={"part_numbers": numbers})
        assert answer.status_code == 200, answer.text
        parts: list[dict[str, Any]] = answer.json()["parts"]
        return parts

    def put_part(self, part: dict[str, Any], data: bytes) -> str:
        """PUT straight to S3 through the presigned URL; return the part's ETag."""
        answer = requests.put(part["url"], data=data, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    def status(self, upload_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/v1/uploads/{upload_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def complete(self, upload_id: str, **body: Any) -> requests.Response:
        return self.call("POST", f"/v1/uploads/{upload_id}/complete", json=body or None)

    def download(self, key: str, **params: Any) -> requests.Response:
        return self.call("GET", "/v1/files/" + quote(key), params=params)

    def create_draft(self, **body: Any) -> requests.Response:
        body.setdefault("file_name", unique_name(".txt"))
        return self.call("POST", "/v1/drafts", json=body)

    def draft(self, data: bytes, **body: Any) -> dict[str, Any]:
        """A draft with its bytes POSTed straight to S3 through the presigned form."""
        created = self.create_draft(size=len(data), **body)
        assert created.status_code == 201, created.text
        draft: dict[str, Any] = created.json()
        answer = post_form(draft["upload"], data)
        assert answer.status_code in (200, 201, 204), answer.text
        return draft

    def upload(self, data: bytes, **body: Any) -> dict[str, Any]:
        """The whole flow: init, sign every part, PUT them, complete."""
        init = self.init(size=len(data), **body)
        assert init.status_code == 201, init.text
        plan = init.json()
        parts = self.sign(plan["upload_id"], list(range(1, plan["part_count"] + 1)))
        for part in parts:
            start = (part["part_number"] - 1) * plan["part_size"]
            self.put_part(part, data[start : start + part["size"]])
        done = self.complete(plan["upload_id"])
        assert done.status_code == 200, done.text
        result: dict[str, Any] = done.json()
        return result


def post_form(upload: dict[str, Any], data: bytes, name: str = "file") -> requests.Response:
    """What a browser form does: the signed fields, then the file (multipart/form-data)."""
    return requests.post(
        upload["url"], data=upload["fields"], files={"file": (name, data)}, timeout=60
    )


def unique_name(suffix: str = ".bin") -> str:
    return f"test-{uuid.uuid4().hex[:12]}{suffix}"
