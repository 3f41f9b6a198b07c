"""The stack serves the page, the API reference and their assets: no key, the right
content types, a year's cache for hashed assets and revalidation for the pages."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import requests

from devstack.__main__ import startup_lines
from tests.support.http import Api

STATIC = Path(__file__).parents[2] / "functions" / "web" / "static"
BUILD = json.loads((STATIC / "build.json").read_text(encoding="utf-8"))


def get(api: Api, path: str, **headers: str) -> requests.Response:
    return api.http.get(api.url + path, headers=headers, timeout=30)


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_are_html_revalidated_each_visit_and_locked_down(api: Api, path: str) -> None:
    # When a browser asks for the page, with no key
    answer = get(api, path)
    # Then it is the HTML of this build, always revalidated, with a strict policy
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert BUILD["sources_sha256"] in answer.text
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_page_the_browser_has_is_not_sent_again(api: Api) -> None:
    # Given the page and its ETag
    first = get(api, "/")
    etag = first.headers["ETag"]
    # When the browser revalidates with it
    again = get(api, "/", **{"If-None-Match": etag})
    # Then it is a 304 with no body; another tag gets the page
    assert again.status_code == 304 and again.content == b""
    assert get(api, "/", **{"If-None-Match": '"other"'}).status_code == 200


def test_every_asset_the_pages_name_is_served_with_its_type_and_a_long_cache(api: Api) -> None:
    # Given the assets the pages link to
    names = set()
    for path in ("/", "/docs"):
        names |= set(re.findall(r'(?:src|href)="/assets/([^"]+)"', get(api, path).text))
    assert {Path(name).suffix for name in names} == {".js", ".css"}
    for name in names:
        # When each is fetched
        answer = get(api, f"/assets/{name}")
        # Then it is the built file, typed, cached for a year, immutable
        assert answer.status_code == 200, name
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert answer.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.content == (STATIC / "assets" / name).read_bytes()


def test_assets_travel_gzipped_when_the_browser_accepts_it(api: Api) -> None:
    # Given the API reference's script, the largest asset (1.6 MB)
    name = next(n for n in BUILD["assets"] if n.startswith("docs-") and n.endswith(".js"))
    # When fetched by a client that accepts gzip, and read raw
    answer = api.http.get(
        f"{api.url}/assets/{name}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30
    )
    raw = answer.raw.read(decode_content=False)
    # Then it is gzip of the file, much smaller
    assert answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == (STATIC / "assets" / name).read_bytes()
    assert len(raw) < len(gzip.decompress(raw)) / 2


@pytest.mark.parametrize("name", ["nope.js", "build.json", "..%2Fbuild.json", "index.html"])
def test_nothing_but_the_built_assets_is_served(api: Api, name: str) -> None:
    # When a name the build did not list is asked for
    answer = get(api, f"/assets/{name}")
    # Then it is a 404 in the contract's shape (or the gateway's, off every route)
    assert answer.status_code == 404
    assert answer.json().get("error", {}).get("code", "NOT_FOUND") == "NOT_FOUND"


def test_make_dev_prints_urls_of_the_page_and_the_reference_that_answer(api: Api) -> None:
    # Given what `make dev` prints for this stack
    lines = startup_lines(api.url, str(api.api_key), "http://127.0.0.1:9")
    (page_line,) = [line for line in lines if line.startswith("Upload page:")]
    urls = re.findall(r"http://\S+?(?=[\s)]|$)", page_line)
    # Then it names the page and the reference, and both answer with this build's HTML
    assert urls == [f"{api.url}/", f"{api.url}/docs"]
    for url in urls:
        answer = api.http.get(url, timeout=30)
        assert answer.status_code == 200
        assert BUILD["sources_sha256"] in answer.text
