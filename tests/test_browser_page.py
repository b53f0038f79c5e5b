"""End to end: the real server on a free port, the page driven in headless chromium.

Debian's chromium (installed by .ci/system-deps.sh) is driven through
Playwright for Python with executable_path, so no browser is downloaded.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from test_viz_support import lenet_file, mnist_digits, write_png

CHROMIUM = Path("/usr/bin/chromium")
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (.ci/system-deps.sh installs it)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory, mnist_dir):
    import uvicorn

    from convkit.serve import create_app

    folder = tmp_path_factory.mktemp("browser")
    app = create_app(lenet_file(folder, mnist_dir))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the convkit server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A fresh profile per test (Playwright takes it as user_data_dir, not a flag).
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_uploading_a_digit_shows_labels_gradcam_and_maps(server_url, page, mnist_dir, tmp_path):
    images, labels = mnist_digits(mnist_dir, 1)
    digit = write_png(tmp_path / "digit.png", images[0])
    page.goto(server_url + "/")
    page.wait_for_function("document.getElementById('model-info').textContent.includes('28x28x1')")

    page.set_input_files("#file-input", str(digit))

    page.wait_for_selector("#labels li", timeout=30_000)
    page.wait_for_selector("#featuremap-list figure", timeout=30_000)
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')")
    shown = page.locator("#labels .label").all_text_contents()
    assert len(shown) == 5
    assert shown[0] == str(labels[0])  # the model was fitted on this digit
    assert page.locator("#gradcam-image").evaluate("img => img.naturalWidth") > 0
    captions = page.locator("#featuremap-list figcaption").all_text_contents()
    assert captions == ["conv1 24x24x20", "pool1 12x12x20", "conv2 8x8x50", "pool2 4x4x50"]
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_a_file_that_is_not_an_image_shows_the_servers_message(server_url, page, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("these are notes, not pixels")
    page.goto(server_url + "/")
    page.set_input_files("#file-input", str(text))
    page.wait_for_selector("#status.error", timeout=30_000)
    assert "not an image" in page.locator("#status").text_content()
    assert page.locator("#prediction").is_hidden()
