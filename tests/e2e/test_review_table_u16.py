"""Issue 16, finding 5 in a browser: the review entry page of the demo
township (48 people) is one table with one save button, short enough to
work through, keyboard-friendly, and usable on a phone (the table scrolls
inside its frame, the page does not)."""
from __future__ import annotations

from kaohe.core.clock import local_today

from .helpers import horizontal_overflow, org_id

LUSHAER = "630122101"
YEAR = local_today().year


def test_review_table_desktop_and_phone(page, phone_page, login_as, live_server, shot):
    unit = org_id(live_server, LUSHAER)
    url = live_server.url(f"/annual/unit/{unit}/{YEAR}/reviews")

    login_as(page, "lushaer_admin")
    page.goto(url)
    rows = page.locator("tr[data-person]").count()
    assert rows >= 20
    assert page.locator("[data-testid=save-reviews]").count() == 1
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < rows * 90, f"{height}px for {rows} rows"       # was ~800 px per person
    shot(page, "desktop")

    # keyboard: Tab walks along the row (score → grade → comment → votes)
    first = page.locator("tr[data-person]").first
    score = first.locator("input[name^=ls_]")
    score.focus()
    score.fill("88")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name").startswith("rg_")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name").startswith("c_")
    page.locator("[data-testid=save-reviews]").click()
    page.wait_for_load_state()
    assert page.locator(".flash").first.is_visible()
    assert page.locator("tr[data-person]").first.locator("input[name^=ls_]").input_value() in ("88", "88.0")

    login_as(phone_page, "lushaer_admin")
    phone_page.goto(url)
    assert phone_page.locator("[data-testid=save-reviews]").count() == 1
    assert horizontal_overflow(phone_page) == 0
    shot(phone_page, "phone")
