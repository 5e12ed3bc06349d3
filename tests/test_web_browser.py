"""End to end in a real browser: Debian's Chromium, driven by Playwright, against the real studio.

Playwright never downloads a browser here: it launches /usr/bin/chromium (``.ci/run`` installs it
with apt). The page only ever talks to the loopback server this test starts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# No silent skips: `bash scripts/install.sh test` brings the test extra and Chromium (or stops
# with the one command to run), so a missing piece here is a broken set-up, reported as such.
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    raise RuntimeError(f"{CHROMIUM} is missing: run `apt-get install chromium` (scripts/install.sh test does)")
from playwright import sync_api  # noqa: E402

from impasto.web.server import create_app, running  # noqa: E402

STEPS = 12
# Records every status line and progress-bar width the page shows, so the test sees the progress move
# even if it is quicker than Playwright's polling.
WATCH = """() => {
  window.seen = [];
  const note = () => window.seen.push([document.getElementById('status').textContent,
                                       document.getElementById('bar-fill').style.width]);
  new MutationObserver(note).observe(document.getElementById('canvas'),
                                     {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.fixture()
def browser(tmp_path):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def test_paint_a_picture_in_the_browser(tmp_path: Path, browser, photo, painting):
    photo_path = tmp_path / "a holiday photo of the old town by the river, taken at dusk.png"
    painting_path = tmp_path / "painting.jpg"
    photo.save(photo_path)  # 64x48
    painting.save(painting_path)
    with running(create_app(tmp_path / "data")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        def outside(request) -> None:
            if request.url.startswith(("http", "ws")) and not request.url.startswith(url):
                errors.append(f"request outside the studio: {request.url}")

        page.on("request", outside)
        page.goto(url)
        page.wait_for_selector("#style-tiles [data-example=starry_night]")

        page.set_input_files("#photo-file", photo_path)
        page.set_input_files("#style-file", painting_path)
        assert page.locator("#style-tiles .tile.selected .caption").inner_text() == "painting.jpg"
        page.select_option("#opt-size", "128")
        page.click("details.more summary")
        page.fill("input[name=steps]", str(STEPS))
        page.fill("input[name=start_size]", "128")
        page.evaluate(WATCH)
        page.click("#paint")

        page.wait_for_selector("#download:not([hidden])", timeout=120_000)
        assert page.inner_text("#status").startswith(f"Done: {STEPS} steps")
        seen = page.evaluate("window.seen")
        steps = [int(m.group(1)) for text, _ in seen if (m := re.match(r"Step (\d+) / 12", text))]
        assert len(set(steps)) >= 2 and steps == sorted(steps), seen  # the progress moved, forwards
        widths = [float(w.rstrip("%")) for _, w in seen if w]
        assert any(0 < w < 100 for w in widths) and widths[-1] == 100, widths
        assert page.inner_text("#job-title") == f"{photo_path.name} × painting.jpg"

        # The result is shown at its full size and downloads as a valid PNG.
        page.wait_for_function("document.getElementById('picture').naturalWidth === 128")
        with page.expect_download() as info:
            page.click("#download")
        saved = tmp_path / "download.png"
        info.value.save_as(saved)
        with Image.open(saved) as img:
            assert img.format == "PNG" and img.size == (128, 96)
        card = page.locator("#history .card")
        assert card.count() == 1 and "done" in card.inner_text() and "128 px" in card.inner_text()

        # A reload comes back to the same job; so does another tab at phone width, without sideways scrolling.
        page.reload()
        page.wait_for_selector("#download:not([hidden])")
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(page.url)
        phone.wait_for_selector("#download:not([hidden])")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert not errors, errors

        if os.environ.get("IMPASTO_STUDIO_SCREENSHOT"):  # how docs/studio.png can be remade
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=os.environ["IMPASTO_STUDIO_SCREENSHOT"], full_page=True)


def test_cancel_from_the_page(tmp_path: Path, browser, photo, painting):
    with running(create_app(tmp_path / "data")) as url:
        page = browser.new_page(viewport={"width": 1024, "height": 800})
        page.goto(url)
        page.click("#photo-tiles [title^='Tübingen']")
        page.click("#style-tiles [data-example=the_scream]")
        page.select_option("#opt-size", "128")
        page.click("details.more summary")
        page.fill("input[name=steps]", "3000")
        page.fill("input[name=start_size]", "128")
        page.click("#paint")
        page.wait_for_function("/^Step \\d+/.test(document.getElementById('status').textContent)",
                               timeout=60_000)
        page.click("#cancel")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Cancelled')",
                               timeout=60_000)
        assert page.is_visible("#download") and page.is_hidden("#cancel")
        assert "Tübingen" in page.inner_text("#job-title")
        job = page.evaluate("fetch('/api/jobs').then(r => r.json())")["jobs"][0]
        assert job["status"] == "cancelled" and 1 <= job["step"] < 3000


def test_paint_a_clip_in_the_browser(tmp_path: Path, browser):
    """A tiny clip: live frame progress, then the painted MP4 playing in a <video>."""
    pytest.importorskip("av", reason="clips need the video extra: pip install 'impasto[video]'")
    pytest.importorskip("cv2", reason="clips need the video extra: pip install 'impasto[video]'")
    from video_clips import panned, write_mp4

    clip = write_mp4(tmp_path / "walk.mp4", panned(4, 48, 32))
    with running(create_app(tmp_path / "data")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("#clip-tile:not([hidden])")
        page.set_input_files("#clip-file", clip)
        page.click("#style-tiles [data-example=starry_night]")
        page.select_option("#opt-size", "128")
        page.click("details.more summary")
        page.fill("input[name=steps]", "6")
        page.fill("input[name=start_size]", "128")
        assert page.is_visible("#clip-options")
        page.fill("input[name=frame_steps]", "3")
        page.evaluate(WATCH)
        page.click("#paint")

        page.wait_for_selector("#video:not([hidden])", timeout=180_000)
        assert page.inner_text("#status").startswith("Done: 4 frames")
        frames = [m.group(1) for text, _ in page.evaluate("window.seen")
                  if (m := re.match(r"Frame (\d) / 4", text))]
        assert frames and frames == sorted(frames), frames
        # The browser plays the MP4 itself: its size comes from the decoded stream.
        page.wait_for_function("document.getElementById('video').videoWidth === 128", timeout=30_000)
        assert page.get_attribute("#download", "href").endswith("/video?download=true")
        assert page.inner_text("#download") == "Download MP4"
        assert not errors, errors
        if os.environ.get("IMPASTO_STUDIO_VIDEO_SCREENSHOT"):  # how docs/studio-video.png can be remade
            page.evaluate("document.getElementById('video').pause(); window.scrollTo(0, 0)")
            page.screenshot(path=os.environ["IMPASTO_STUDIO_VIDEO_SCREENSHOT"], full_page=False)
