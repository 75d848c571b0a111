"""Browser tests: Debian's chromium driven by Playwright against the live server (pytest-django's
`live_server`, a real HTTP server in a thread of the test process, on the test database).

Every test that uses `page` leaves a full-page screenshot of where it ended in the artefacts folder
(`TEST_ARTIFACTS_DIR`, default `test-artifacts/`), named after the test; `screenshot(page, name)` keeps one
of a step on the way. Playwright never downloads a browser here: `scripts/setup` installs Debian's."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Without the background-networking flags chromium keeps calling home, which this machine's closed network
# refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def artifacts_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR", "test-artifacts")) / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot of `page` as a test artefact; returns its path."""
    path = artifacts_dir() / f"{_file_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module. Playwright's sync API keeps an event loop set in the test's thread
    while it runs, so (1) Django's guard against ORM calls from async code would refuse the tests' own
    synchronous database work: DJANGO_ALLOW_ASYNC_UNSAFE is set while it runs, and only then (set for the
    whole process it leaked into every later test, and into the `check --deploy` one of them runs); and
    (2) the loop must be gone before the tests outside this folder run (asyncio.run refuses to start
    inside a running loop)."""
    assert CHROMIUM.exists(), f"no chromium at {CHROMIUM}: run scripts/setup (it installs Debian's chromium)"
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server; a screenshot of the end state is kept."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    try:
        screenshot(page, request.node.nodeid.split("/")[-1])
    finally:
        context.close()


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """Sign `username` in through the web's sign-in form, then go on to `next_path`."""

    def sign_in(page: Page, username: str, password: str, *, next_path: str = "/") -> None:
        page.goto(f"/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")

    return sign_in
