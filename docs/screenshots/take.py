"""Take the README's screenshots from a running demo (``python3 manage.py demo``).

    .venv/bin/python docs/screenshots/take.py [--base-url http://127.0.0.1:8000]

Signs in as each demo user in Debian's Chromium and saves each page at 1280x720 and
1440x900 into this folder, named ``<page>-<width>x<height>.png``. The pages are the
ones a planner or an executive spends the month on: the demand grid, the supply grid
and the executive pack.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
PASSWORD = "demo-pass-2026"
SIZES = ((1280, 720), (1440, 900))
# (file name, demo user, path, a selector that is on the page once it has drawn); a path
# "/executive/#approved" shows the pack of the newest approved cycle (its cycle picker).
PAGES = (
    ("demand-review", "demand", "/demand/", "#selection table"),
    ("demand-grid", "demand", "/demand/grid/", "table[data-grid]"),
    ("supply-grid", "supply", "/supply/grid/", "table[data-grid]"),
    ("executive-pack", "exec", "/executive/#approved", "main"),
    ("executive-pack-current", "exec", "/executive/", "main"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, user, path, ready in PAGES:
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{args.base_url}/login/")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", PASSWORD)
                page.click("form button[type=submit]")
                page.wait_for_url(f"{args.base_url}/")
                url, _, pick = path.partition("#")
                response = page.goto(f"{args.base_url}{url}")
                if pick == "approved":
                    picker = page.locator("select[name=cycle]")
                    options = picker.locator("option").all_inner_texts()
                    label = next(o for o in options if o.endswith("Approved"))
                    with page.expect_navigation():
                        picker.select_option(label=label)
                if response is None or response.status != 200:
                    print(f"skipped {name}: {path} answered {response and response.status}")
                    page.close()
                    break
                page.wait_for_selector(ready)
                page.wait_for_load_state("networkidle")
                out = HERE / f"{name}-{width}x{height}.png"
                page.screenshot(path=str(out))
                print(f"wrote {out.relative_to(HERE.parents[1])}")
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
