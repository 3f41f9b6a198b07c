"""The upload page (`GET /`) and the API reference (`GET /docs`), used as a person would:
open the link, choose a file, wait for what they would see; checked through the API."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.browser.helpers import PageErrors, file_bytes, wait_for_file
from tests.support.http import Api, unique_name

MiB = 1024 * 1024
FILE_INPUT = "input.uppy-Dashboard-input[type=file]:not([webkitdirectory])"


def a_file(tmp_path: Path, size: int, suffix: str = ".bin") -> Path:
    path = tmp_path / unique_name(suffix)
    path.write_bytes(os.urandom(size))
    return path


def mint(api: Api, **body: object) -> dict[str, str]:
    answer = api.call("POST", "/v1/upload-tokens", json=body)
    assert answer.status_code == 201, answer.text
    token: dict[str, str] = answer.json()
    return token


def listed_names(api: Api) -> set[str]:
    answer = api.call("GET", "/v1/files", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    return {file["key"].rsplit("/", 1)[-1] for file in answer.json()["files"]}


def test_a_person_uploads_sees_downloads_and_deletes_a_file(
    page: Page, api: Api, tmp_path: Path, page_errors: PageErrors
) -> None:
    # Given a 1 MiB file, and the page opened from a link that carries the key
    path = a_file(tmp_path, MiB)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{api.url}/#key={api.api_key}")
    expect(page.locator("#files")).to_be_visible()
    # When the person chooses the file
    page.locator(FILE_INPUT).set_input_files(path)
    # Then it uploads at once and shows up in their files
    row = page.locator(f'tr[data-key$="/{path.name}"]')
    expect(row).to_be_visible()
    key = row.get_attribute("data-key")
    assert key and key.endswith(path.name)
    # When they download it
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    # Then it is byte for byte the file they chose
    saved = Path(download.value.path())
    assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()
    # When they delete it (and confirm)
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Yes, delete").click()
    # Then it leaves the list and the API no longer has it
    expect(row).to_have_count(0)
    assert api.call("HEAD", "/v1/files/" + key).status_code == 404
    # And the key left the address bar, went only to this API, and nothing failed
    assert "#key" not in page.url
    assert_key_only_sent_to_the_api(requests, api)
    assert page_errors.unexpected == []


def assert_key_only_sent_to_the_api(requests: list[Request], api: Api) -> None:
    api_origin = urlsplit(api.url).netloc
    authorized = [r for r in requests if "authorization" in r.all_headers()]
    assert authorized, "the page never called the API with its key"
    for request in authorized:
        assert urlsplit(request.url).netloc == api_origin, request.url
        assert request.all_headers()["authorization"] == f"Bearer {api.api_key}"
    # The key is never in a URL (the fragment is not sent, and nothing copies it)
    assert all(str(api.api_key) not in request.url for request in requests)


def test_a_key_typed_in_is_kept_for_the_tab_and_a_wrong_one_refused(
    page: Page, api: Api, page_errors: PageErrors
) -> None:
    # Given the page with no credentials
    page.goto(f"{api.url}/")
    # When a wrong key is typed in
    page.get_by_label("API key").fill("stw_not-a-real-key")
    page.get_by_role("button", name="Continue").click()
    # Then the page says so and keeps nothing
    expect(page.locator("#key-error")).to_have_text("That key was not accepted.")
    assert page.evaluate("sessionStorage.getItem('stowage.key')") is None
    # When the right one is typed in
    page.get_by_label("API key").fill(str(api.api_key))
    page.get_by_role("button", name="Continue").click()
    # Then the uploader and the files appear, the key kept in this tab's session storage
    expect(page.locator("#uploader")).to_be_visible()
    expect(page.locator("#files")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('stowage.key')") == api.api_key
    # When the person forgets the key
    page.get_by_role("button", name="Forget key").click()
    # Then the page asks for one again
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('stowage.key')") is None
    # (the wrong key's 403 is the one console error Chromium logs)
    assert all("403" in line for line in page_errors.seen), page_errors.seen


def test_a_token_link_uploads_a_dropped_file_but_cannot_list(page: Page, api: Api) -> None:
    # Given a token an app minted, and its user following the link
    token = mint(api, ttl_seconds=600)["token"]
    name = unique_name(".txt")
    page.goto(f"{api.url}/#token={token}")
    expect(page.locator("#uploader")).to_be_visible()
    # Then there is no file list to see (a token cannot list)
    expect(page.locator("#files")).to_be_hidden()
    assert "#token" not in page.url
    # When they drag a 64 KiB file onto the Dashboard and drop it
    transfer = page.evaluate_handle(
        """(name) => {
            const transfer = new DataTransfer()
            const bytes = new Uint8Array(65536).fill(7)
            transfer.items.add(new File([bytes], name, {type: 'text/plain'}))
            return transfer
        }""",
        name,
    )
    page.dispatch_event(".uppy-Dashboard-inner", "dragover", {"dataTransfer": transfer})
    page.dispatch_event(".uppy-Dashboard-inner", "drop", {"dataTransfer": transfer})
    # Then the page lists it as uploaded, and the API's client has it, byte for byte
    expect(page.locator("#session-list li")).to_contain_text(name)
    info = wait_for_file(api, name)
    assert file_bytes(api, info["key"]) == bytes([7]) * 65536


def test_a_tampered_token_shows_an_error_and_stores_nothing(
    page: Page, api: Api, tmp_path: Path
) -> None:
    # Given a token with one character changed
    token = mint(api, ttl_seconds=600)["token"]
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    path = a_file(tmp_path, 1024)
    page.goto(f"{api.url}/#token={tampered}")
    # When a file is chosen
    page.locator(FILE_INPUT).set_input_files(path)
    # Then the page and Uppy's Dashboard say the upload failed
    expect(page.locator("#upload-error")).to_contain_text("not valid")
    expect(page.locator(".uppy-StatusBar.is-error")).to_be_visible()
    # And nothing was stored
    assert path.name not in listed_names(api)


def test_the_api_reference_renders_the_stacks_openapi_document(
    page: Page, api: Api, page_errors: PageErrors
) -> None:
    # Given the document the stack serves
    document = api.call("GET", "/v1/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    # And a tab that holds the key (the upload page was opened with it)
    page.goto(f"{api.url}/#key={api.api_key}")
    expect(page.locator("#files")).to_be_visible()
    # When the reference page is opened
    page.goto(f"{api.url}/docs")
    # Then Swagger UI shows every operation, from assets the stack served
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".info .title")).to_contain_text("stowage")
    # And "Try it out" would send the tab's key
    authorized = page.evaluate("window.stowageDocs.authSelectors.authorized().toJS()")
    assert authorized["ApiKey"]["value"] == api.api_key
    assert page_errors.unexpected == []


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_the_pages_load_nothing_from_elsewhere(page: Page, api: Api, path: str) -> None:
    # Given every request the page makes as it loads
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{api.url}{path}", wait_until="networkidle")
    # Then all go to the stack itself: no CDN, no validator badge, no fonts from afar
    origins = {urlsplit(r.url).netloc for r in requests if not r.url.startswith("data:")}
    assert origins == {urlsplit(api.url).netloc}


def test_a_refused_upload_is_retried_from_the_dashboard(
    page: Page, api: Api, tmp_path: Path
) -> None:
    # Given S3 refusing the first POST of the page's upload (as an expired form would be)
    path = a_file(tmp_path, 256 * 1024)
    refused: list[str] = []

    def refuse_once(route: Route) -> None:
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            route.fulfill(status=403, body="<Error><Code>AccessDenied</Code></Error>")
        else:
            route.fallback()

    page.goto(f"{api.url}/#key={api.api_key}")
    page.route(lambda url: urlsplit(url).netloc != urlsplit(api.url).netloc, refuse_once)
    # When the person chooses a file, it fails, and they press Uppy's retry
    page.locator(FILE_INPUT).set_input_files(path)
    expect(page.locator("#upload-error")).to_contain_text(path.name)
    page.locator(".uppy-StatusBar-actionBtn--retry").click()
    # Then it uploads and shows up in their files
    expect(page.locator(f'tr[data-key$="/{path.name}"]')).to_be_visible()
    assert len(refused) == 1


@pytest.mark.slow
def test_a_file_over_uppys_threshold_goes_up_from_the_page_in_parts(
    page: Page, api: Api, tmp_path: Path
) -> None:
    # Given a file just over 100 MiB, where stock Uppy switches to multipart
    path = a_file(tmp_path, 100 * MiB + 1)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{api.url}/#key={api.api_key}")
    # When the person chooses it
    page.locator(FILE_INPUT).set_input_files(path)
    # Then it goes up in parts and shows up in their files, byte for byte
    row = page.locator(f'tr[data-key$="/{path.name}"]')
    expect(row).to_be_visible(timeout=180_000)
    assert sum(1 for r in requests if r.method == "PUT") >= 2
    key = row.get_attribute("data-key")
    assert key is not None
    assert (
        hashlib.sha256(file_bytes(api, key)).digest() == hashlib.sha256(path.read_bytes()).digest()
    )
