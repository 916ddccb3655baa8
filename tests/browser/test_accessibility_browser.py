"""WCAG 2.1 AA on the five review pages, checked by axe-core in Chromium, and by hand for
what axe cannot see: the skip link, the focus ring, and a table next to every chart.

axe-core is vendored under tests/browser/vendor/ (a test tool, never served by the app).
"""

# The fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in, wait_until  # noqa: F401
from tests.executive.conftest import (  # noqa: F401
    company,
    cycle,
    executive,
    finance,
    in_review,
    published,
    recommended,
    reconciling,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "cycle home": "/",
    "demand review": "/demand/?cycle={pk}&family=Bikes",
    "supply review": "/supply/?cycle={pk}",
    "reconciliation": "/reconciliation/?cycle={pk}",
    "executive review": "/executive/?cycle={pk}",
}


def open_page(page, url: str) -> None:
    """Go to `url` and wait until plotly has drawn every chart on it."""
    page.goto(url)
    wait_until(
        page, "[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'))"
    )


def axe_violations(page) -> list[str]:
    """The serious and critical WCAG 2.1 A/AA violations axe finds on the page."""
    # Evaluated through the DevTools protocol: the page's CSP refuses an added <script>.
    page.evaluate(AXE.read_text() + "\n;true")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        WCAG_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_five_review_pages_have_no_serious_accessibility_violations(
    live_server, chromium_page, sign_in, in_review, executive
):
    page = chromium_page
    sign_in(page, executive)
    found: dict[str, list[str]] = {}
    charts = {}
    for name, path in PAGES.items():
        open_page(page, live_server.url + path.format(pk=in_review.pk))
        found[name] = axe_violations(page)
        page.screenshot(path=str(ARTIFACTS / f"a11y_{name.replace(' ', '_')}.png"), full_page=True)
        # Every chart has its table alternative, with the chart's rows in it.
        charts[name] = page.locator(".chart").count()
        assert page.locator("details.chart-table").count() == charts[name], name
        for i in range(charts[name]):
            assert page.locator("details.chart-table").nth(i).locator("tbody tr").count() > 0

    assert {name: v for name, v in found.items() if v} == {}
    # The review pages draw charts; the cycle home has none.
    assert all(charts[name] for name in PAGES if name != "cycle home"), charts


def test_a_keyboard_user_skips_to_the_content_and_sees_where_the_focus_is(
    live_server, chromium_page, sign_in, in_review, executive
):
    page = chromium_page
    sign_in(page, executive)
    open_page(page, f"{live_server.url}/executive/?cycle={in_review.pk}")

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content"
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the skip link shows when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # The first stop inside the content wears a visible ring.
    page.keyboard.press("Tab")
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; })()"
    )
    assert ring[0] == "solid" and ring[1] >= 2, ring
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")

    # A text field is told by its border: at least 3:1 against the card (WCAG 1.4.11).
    border, card = page.evaluate(
        "(() => { const f = document.getElementById('approve-comment');"
        " return [getComputedStyle(f).borderTopColor,"
        " getComputedStyle(f.closest('.card')).backgroundColor]; })()"
    )
    assert contrast(border, card) >= 3, (border, card)

    # The revenue chart's table: reached by keyboard, opened with Enter.
    summary = page.locator("#revenue-chart + details.chart-table summary")
    summary.focus()
    page.keyboard.press("Enter")
    table = page.locator("#revenue-chart + details.chart-table table")
    assert table.is_visible()
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:2] == ["Month", "Revenue (EUR)"]
    assert "Gross margin (EUR)" in headers
    assert table.locator("tbody tr").count() == 3  # the three months of the horizon
    page.evaluate("document.getElementById('revenue-chart').scrollIntoView()")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    for path in (ARTIFACTS / "a11y_focus_and_chart_table.png", "/tmp/a11y_executive_focus.png"):
        page.screenshot(path=str(path))


def contrast(*colours: str) -> float:
    """The WCAG contrast ratio of two CSS rgb()/rgba() colours."""

    def luminance(colour: str) -> float:
        r, g, b = (int(float(c)) / 255 for c in colour[colour.index("(") + 1 : -1].split(",")[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted(map(luminance, colours), reverse=True)
    return (high + 0.05) / (low + 0.05)
