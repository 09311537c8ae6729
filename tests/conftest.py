"""Shared pytest fixtures."""

from __future__ import annotations

import os

import pytest

import browser as browser_helpers

# tests/data holds notebooks that tests feed to the exporter (one fails on
# purpose); they are inputs, not lessons for `pytest --nbval` to collect.
collect_ignore_glob = ["data/*"]


# --- Browser (Playwright + Debian's Chromium; see tests/browser.py) -----------


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole test session.

    Where Chromium is missing the browser tests skip, except when
    ADNB_REQUIRE_BROWSER=1 (set by .ci/run): in CI they must run, so a
    missing browser is a failure there.
    """
    if not browser_helpers.CHROMIUM.exists():
        reason = f"{browser_helpers.CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("ADNB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; ADNB_REQUIRE_BROWSER=1 requires the browser tests to run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = browser_helpers.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_offline(browser):
    """Open a file:// URL: ``page, log = open_offline(url)``.

    ``log.network`` lists requests to anything but file: and data: URLs,
    ``log.errors`` uncaught page errors and console errors. Pages are closed
    after the test.
    """
    pages = []

    def _open(url: str):
        page, log = browser_helpers.open_recorded(browser, url)
        pages.append(page)
        return page, log

    yield _open
    for page in pages:
        page.close()  # also closes the context new_page() made for it
