"""`/docs` renders the API reference in a real browser with nothing fetched from elsewhere."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import SettingsFactory
from tests.support.server import serving
from upwatch.api.app import create_app

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
def test_the_api_reference_renders_offline_from_packaged_assets(
    make_settings: SettingsFactory,
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed: `make browser` installs it")
    requested: list[str] = []
    with serving(create_app(make_settings())) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{base_url}/docs")
            title = page.locator(".swagger-ui .info .title")
            title.wait_for(timeout=15_000)
            title_text = title.inner_text()
            page.locator("#operations-health-live_health_live_get").wait_for(timeout=15_000)
        finally:
            browser.close()
    assert title_text.startswith("Upwatch")
    server = urlsplit(base_url).netloc
    foreign = [url for url in requested if urlsplit(url).netloc != server]
    assert foreign == []
    assert f"{base_url}/openapi.json" in requested
