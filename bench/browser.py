"""A 100 MiB upload from the upload page in Chromium next to the `stowage` CLI, on the
same file, against the same local stack, in the same run.

The page is the one the stack serves (`GET /`, opened with `#key=`), Uppy's Dashboard
with stock @uppy/aws-s3 given only `companionEndpoint`: at 100 MiB that is one presigned
POST (the plugin goes multipart only above 100 MiB). The page's time runs from the file
being chosen (Uppy's `files-added`) to `upload-success`, measured in the page: the
token it mints, the POST and S3's answer; and from the file being chosen to the API
listing it (S3's event handled: the draft confirmed into the files bucket). The
testbed row is the same file sent by stock Uppy as a multipart upload
(`shouldUseMultipart`; 6.x sends its parts one after another). The CLI's is the
`seconds` of its JSON (init, parallel parts, complete). Runs alternate so that a slow
moment hits every tool; the median is shown.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.cli import MIB, Bench, random_file
from devstack.seed import seed
from devstack.stack import LocalStack
from tests.browser.helpers import STATIC, find_file, launch, serve_static, wait_for_file
from tests.support.http import Api

SIZE = 100 * MIB
RUNS = 3
TIMEOUT_MS = 300_000
FILE_INPUT = "input.uppy-Dashboard-input[type=file]:not([webkitdirectory])"

PAGE_TIMER = """() => {
    const uppy = window.stowageUppy
    window.benchSeconds = new Promise((resolve, reject) => {
        let start = 0
        uppy.once('files-added', () => { start = performance.now() })
        uppy.once('upload-success', () => resolve((performance.now() - start) / 1000))
        uppy.once('upload-error', (file, error) => reject(new Error(String(error))))
    })
}"""


def page_upload(page: Page, api: Api, path: Path) -> tuple[float, float]:
    """Seconds from choosing the file on the upload page to Uppy's upload-success, and
    to the API listing it as the user's file (once S3's event has been handled)."""
    page.goto(f"{api.url}/#key={api.api_key}")
    page.wait_for_selector("#files:not([hidden])")
    page.evaluate(PAGE_TIMER)
    start = time.perf_counter()
    page.locator(FILE_INPUT).set_input_files(path)
    seconds: float = page.evaluate("() => window.benchSeconds")
    while find_file(api, path.name) is None:
        time.sleep(0.02)  # polling for the registration, which wait_for_file bounds
    listed = time.perf_counter() - start
    wait_for_file(api, path.name)
    return seconds, listed


def testbed_upload(page: Page, origin: str, url: str, key: str, path: Path) -> float:
    """Seconds for stock Uppy on the testbed to send the file as a multipart upload."""
    page.goto(f"{origin}/testbed.html")
    page.locator("#file").set_input_files(path)
    token = page.evaluate(
        """async ([url, key]) => (await (await fetch(url + '/v1/upload-tokens', {
            method: 'POST', headers: {Authorization: 'Bearer ' + key}})).json()).endpoint""",
        [url, key],
    )
    result = page.evaluate(
        "(o) => window.upload(o)", {"endpoint": token, "fromInput": True, "multipart": True}
    )
    if result["outcome"] != "success":
        raise RuntimeError(f"testbed upload failed: {result}")
    return float(result["seconds"])


def report() -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalStack(port=0, s3_port=0, seed=seed) as stack,
        serve_static(STATIC) as origin,
        sync_playwright() as driver,
    ):
        browser = launch(driver)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        bench = Bench(stack, Path(folder))
        path = random_file(Path(folder), SIZE)
        bench.cli(random_file(Path(folder), MIB))  # warm the API's functions once
        api = Api(stack.url, stack.api_key)
        cli, web, listed, testbed = [], [], [], []
        for run in range(RUNS):
            cli.append(bench.cli(path).upload)
            named = path.with_name(f"page-{run}.bin")
            os.link(path, named)  # the same bytes under a name of its own
            success, registered = page_upload(page, api, named)
            web.append(success)
            listed.append(registered)
            testbed.append(testbed_upload(page, origin, stack.url, stack.api_key, path))
        browser.close()
    mib = SIZE / MIB
    rows = {
        "upload page in Chromium (stock Uppy, one POST): to upload-success": web,
        "the same, to the file listed (S3 event handled, draft confirmed)": listed,
        "stock Uppy in Chromium, multipart (its parts in sequence)": testbed,
        "`stowage upload` CLI (8 parts in parallel, to complete)": cli,
    }
    print(f"## 100 MiB upload: the page in Chromium vs the CLI (local stack, median of {RUNS})")
    print("| uploader | MiB/s | seconds |")
    print("|---|---|---|")
    for label, times in rows.items():
        seconds = statistics.median(times)
        print(f"| {label} | {mib / seconds:.0f} | {seconds:.2f} |")
