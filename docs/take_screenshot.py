"""Refresh docs/screenshot.png from a running app: `python docs/take_screenshot.py [URL] [QUESTION]`.

Start the app first (`make run`, real models); this asks one question in headless Chromium and
captures the chat with its answer, the filters and the sources with highlighted evidence.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7860/"
QUESTION = sys.argv[2] if len(sys.argv) > 2 else "Why are Alibaba and Baidu training AI on their own chips?"
TARGET = Path(__file__).resolve().parent / "screenshot.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main() -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 960}, device_scale_factor=1)
        page.goto(URL)
        page.wait_for_selector("#nr-question textarea", timeout=60_000)
        page.fill("#nr-question textarea", QUESTION)
        page.click("#nr-send")
        page.wait_for_selector("#nr-sources .nr-sources-for", timeout=300_000)  # the local LLM may be slow
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
        page.screenshot(path=str(TARGET))
        browser.close()
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
