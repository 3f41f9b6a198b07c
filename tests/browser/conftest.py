"""Real-browser tests: Playwright driving Debian's Chromium against the local stack.

Playwright's own browser download is unreachable here, so the browser is
/usr/bin/chromium (`make test` installs it with apt-get when it is missing). The
stack is the session's shared one (`stack_api`); a second origin (`other_origin`)
serves tests/browser/static/, a page with nothing but stock Uppy, so every upload from
it crosses origins the way an app's page does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.helpers import CHROMIUM, STATIC, PageErrors, launch, serve_static
from tests.support.http import Api

# Every wait is on an event or a selector, bounded by these (milliseconds).
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(context: BrowserContext, page_errors: PageErrors) -> Page:
    page = context.new_page()
    page_errors.watch(page)
    return page


@pytest.fixture(scope="session")
def other_origin() -> Iterator[str]:
    """http://127.0.0.1:<another port>: the testbed page, on an origin the API is not."""
    with serve_static(STATIC) as origin:
        yield origin


@pytest.fixture
def api(stack_api: Api) -> Api:
    return stack_api
