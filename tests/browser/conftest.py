"""Browser tests: Playwright for Python driving Debian's Chromium against a real `pixelpress
serve` process. No browser is ever downloaded: without /usr/bin/chromium the tests skip with a
reason, unless PIXELPRESS_REQUIRE_SERVICES=1, where they fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)

from tests.e2e.processes import PIXELPRESS, environment, serve
from tests.services import required

CHROMIUM = os.environ.get("PIXELPRESS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDTHS = (1280, 375)
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.e2e


def _chromium() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if required():
        pytest.fail(f"{reason}, and PIXELPRESS_REQUIRE_SERVICES=1")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it lives,
    which the async tests after these must not find running."""
    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Server:
    base: str
    env: dict[str, str]
    cwd: Path

    def create_admin(self, name: str) -> None:
        subprocess.run(
            [PIXELPRESS, "users", "create-admin", "--username", name, "--email",
             f"{name}@example.com", "--password", PASSWORD],
            env=self.env, cwd=self.cwd, check=True, capture_output=True, timeout=60,
        )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _chromium()  # no server for nothing
    cwd = tmp_path_factory.mktemp("console")
    env = environment(
        data_dir=str(cwd / "var"),
        rate_limit_default="100000",
        rate_limit_login="100000",
        rate_limit_login_account="100000",
        rate_limit_render="100000",
        rate_limit_upload="100000",
        rate_limit_transform="100000",
        max_pixels="40000000",
    )
    process, base = serve(env, cwd)
    try:
        yield Server(base, env, cwd)
    finally:
        process.stop()


@dataclass
class Refusal:
    method: str
    path: re.Pattern[str]
    status: int


@dataclass
class Watch:
    """What a story must not do: console errors, failed requests, requests off 127.0.0.1.
    Refusals the story provokes on purpose are declared with `expect` and allowed once each."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    expected: list[Refusal] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)

    def expect(self, method: str, path: str, status: int) -> None:
        self.expected.append(Refusal(method, re.compile(path), status))

    def on_request(self, request: Request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:")) and host != "127.0.0.1":
            self.outside.append(request.url)

    def on_response(self, response: Response) -> None:
        status: int = response.status
        if status < 400:
            return
        request = response.request
        path = urlparse(response.url).path
        for refusal in self.expected:
            if (
                refusal.method == request.method
                and refusal.status == status
                and refusal.path.search(path)
            ):
                self.expected.remove(refusal)
                self.refused.append((response.url, status))
                return
        self.failed.append(f"{request.method} {response.url} answered {status}")

    def on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.method} {request.url} failed: {request.failure}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        text: str = message.text
        where = message.location.get("url", "")
        # Chromium logs every 4xx it receives; those of refusals provoked on purpose are fine.
        known = re.match(
            r"Failed to load resource: the server responded with a status of (\d+)", text
        )
        if known and any(
            url == where and str(status) == known.group(1) for url, status in self.refused
        ):
            return
        self.errors.append(f"{message.type}: {text} ({where})")

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        assert self.outside == [], self.outside
        assert self.expected == [], f"refusals that never happened: {self.expected}"


@pytest.fixture
def story(browser: Browser, server: Server) -> Iterator[tuple[Page, Watch]]:
    """A fresh browser context (no cookies) and its page, watched from the first request on."""
    watch = Watch()
    context = browser.new_context(
        base_url=server.base, viewport={"width": WIDTHS[0], "height": 900}, accept_downloads=True
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    context.on("request", watch.on_request)
    context.on("response", watch.on_response)
    context.on("requestfailed", watch.on_failed)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    try:
        yield page, watch
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """The screen at every width of WIDTHS, into var/screenshots (named in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function("() => [...document.images].every((i) => i.complete)")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
