"""The search page in a real browser: `imagesearch serve` on a free port, Debian's chromium via Playwright.

Screenshots go to ``artifacts/screenshots/`` (gitignored) for a human to look at.
Skipped, with the reason, where chromium or Playwright is missing (CI installs both).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imagesearch.legal.rules import DISCLAIMER, DISCLAIMER_RU
from imagesearch.serving.limits import DEFAULT_K
from imagesearch.serving.web.i18n import TEXTS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ALL_IMAGES_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(search_index) -> Iterator[str]:
    """`imagesearch serve` on 127.0.0.1 and a free port; yields its base URL once it answers."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "imagesearch.serving.cli", "serve", "--index", str(search_index.folder),
         "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{process.stdout.read().decode()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server was not ready (/readyz) within 180 s")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def search(page, base: str, query: str) -> None:
    page.goto(base + "/")
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_load_state("load")


def test_results_load_in_the_browser(page, server, search_index):
    search(page, server, "a red circle")
    page.wait_for_selector("#results")
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=20_000)
    widths = page.eval_on_selector_all("#results img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == min(DEFAULT_K, len(search_index.allowed_images))
    assert all(w > 0 for w in widths)
    scores = page.eval_on_selector_all("#results .score", "els => els.map(e => parseFloat(e.textContent))")
    assert scores == sorted(scores, reverse=True)
    assert page.input_value("#q") == "a red circle"  # the box keeps the query
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "search_results.png", full_page=True)


def test_child_query_shows_the_disclaimer_and_no_images(page, server):
    search(page, server, "a little girl playing")
    card = page.wait_for_selector("#disclaimer")
    assert DISCLAIMER in card.inner_text()
    assert page.eval_on_selector_all("img", "imgs => imgs.length") == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "search_disclaimer.png", full_page=True)


def test_empty_query_gets_a_friendly_message(page, server):
    search(page, server, "   ")
    assert "Type a few words" in page.inner_text("#message")


def test_russian_browser_gets_the_russian_page_and_can_switch_to_english(browser, server):
    """A ru-RU browser (its Accept-Language) gets the page in Russian, the Russian disclaimer for a
    blocked query, and the switch to English, which the page then remembers (a cookie)."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    ru, en = TEXTS["ru"], TEXTS["en"]
    try:
        search(page, server, "Девочки танцуют на сцене")
        assert page.get_attribute("html", "lang") == "ru"
        assert page.inner_text("h1") == ru["title"] and page.inner_text("button") == ru["button"]
        assert page.get_attribute("#q", "placeholder") == ru["placeholder"]
        card = page.wait_for_selector("#disclaimer")
        assert DISCLAIMER_RU in card.inner_text() and DISCLAIMER not in card.inner_text()
        assert ru["not_available"] in card.inner_text()
        assert page.eval_on_selector_all("img", "imgs => imgs.length") == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "search_disclaimer_ru.png", full_page=True)

        page.click("#lang-en")  # the switch: same query, now in English
        page.wait_for_load_state("load")
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text("h1") == en["title"] and page.inner_text("button") == en["button"]
        assert DISCLAIMER in page.inner_text("#disclaimer")
        assert page.input_value("#q") == "Девочки танцуют на сцене"

        search(page, server, "a red circle")  # remembered: the ru-RU header no longer decides
        page.wait_for_selector("#results")
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text(".summary").startswith("Top ")
        page.click("#lang-ru")
        page.wait_for_load_state("load")
        assert page.get_attribute("html", "lang") == "ru"
        assert page.inner_text(".summary").startswith(ru["summary"].split("(")[0])
    finally:
        context.close()


@pytest.mark.parametrize("raw_path", ["/images/../../etc/passwd", "/images/..%2F..%2Fetc%2Fpasswd",
                                      "/images/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/images/..",
                                      "/images/..%5C..%5Cetc%5Cpasswd"])
def test_path_traversal_byte_exact_is_404(server, raw_path):
    """Sent over a plain socket, so no client library normalises the path first."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    status = reply.split(b"\r\n", 1)[0]
    assert b" 404 " in status + b" ", status
    assert b"root:" not in reply


@pytest.mark.parametrize("path, rendered", [("/docs", ".swagger-ui .info .title"), ("/redoc", "redoc h1")])
def test_api_docs_render_with_every_other_host_unreachable(browser, server, path, rendered):
    """Swagger UI and ReDoc come from the server itself: a CDN request would be aborted here."""
    context = browser.new_context()
    foreign: list[str] = []

    def only_the_server(route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            foreign.append((route.request.resource_type, route.request.url))
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.goto(server + path)
    page.wait_for_selector(rendered, timeout=20_000)
    assert "imagesearch" in page.inner_text(rendered)
    # nothing it needs came from elsewhere (ReDoc asks cdn.redoc.ly for its decorative logo only)
    assert [url for kind, url in foreign if kind != "image"] == []
    context.close()
