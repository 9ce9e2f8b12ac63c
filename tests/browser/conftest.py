"""A real Chromium (Debian's; `make test` installs it) driven by Playwright against real
`revkv serve` processes. Without chromium the tests skip, saying how to get it.

Screenshots of the main pages land in build/ui-screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ROOT, RevkvServer

CHROMIUM = os.environ.get("REVKV_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "ui-screenshots"
HOW = "chromium is not installed: `apt-get install chromium` (make test does it)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API runs an event loop in this thread
    while it is started, so it must be stopped before other modules' asyncio tests."""
    if not Path(CHROMIUM).exists():
        pytest.skip(HOW)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RevkvServer]:
    with RevkvServer(tmp_path / "data") as running:
        yield running


def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
