"""Take the README's console screenshots: run ``modeleval demo --serve``, log in with the token
it prints, annotate two items of the manual task, and photograph the pages with headless
Chromium (Playwright driving Debian's ``chromium``).

    .venv/bin/python scripts/console_screenshots.py docs/images
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modeleval-shots-"))
    log = (work / "demo.log").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "modeleval.cli", "demo", "--work-dir", str(work), "--serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = token = None
        deadline = time.monotonic() + 300
        while (url is None or token is None) and time.monotonic() < deadline:
            time.sleep(1)
            text = (work / "demo.log").read_text(errors="replace")
            url = next(iter(re.findall(r"console: (http://\S+)", text)), None)
            token = next(iter(re.findall(r"login token \(.*?\): (\S+)", text)), None)
            if demo.poll() is not None:
                print(text[-3000:])
                return 1
        if url is None or token is None:
            return 1
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/login")
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_url("**/tasks")
            page.screenshot(path=str(out / "console-tasks.png"))
            page.click("text=default/qwen-7b-qa-rules")
            page.screenshot(path=str(out / "console-task.png"), full_page=True)
            page.goto(f"{url}/tasks")
            page.click("text=default/qwen-7b-qa-manual")
            page.click("#annotate")
            for value in ("5", "3"):
                page.wait_for_selector("#annotate-form")
                for radio in page.locator(f'input[type=radio][value="{value}"]').all():
                    radio.check()
                page.click("#save-next")
            page.wait_for_selector("#annotate-form")
            page.screenshot(path=str(out / "console-annotate.png"), full_page=True)
            browser.close()
        print(f"screenshots in {out}")
        return 0
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")))
