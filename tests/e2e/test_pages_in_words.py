"""Issue 16 in the browser: the county dashboard's unit table fits a 1366 px
screen with the reminders column in view, and the fixed pages (dashboard,
annual unit and person pages, policy page, audit log) are saved as
screenshots at desktop (1366) and phone (390) width in
test-artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest

from .helpers import horizontal_overflow, org_id

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _ctx(chromium, size):
    extra = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    return chromium.new_context(viewport=PHONE if size == "phone" else LAPTOP, locale="zh-CN", **extra)


def test_dashboard_table_fits_a_laptop_with_reminders_in_view(chromium, live_server, login_as, shot):
    ctx = _ctx(chromium, "desktop")
    try:
        page = ctx.new_page()
        login_as(page, "huangzhong_sup")
        page.goto(live_server.url("/supervision/"))
        page.wait_for_selector("#dash-table")
        wrap = page.evaluate("""() => { const w = document.querySelector('#dash-table').parentElement;
                                      return [w.scrollWidth, w.clientWidth]; }""")
        assert wrap[0] <= wrap[1] + 1, f"the unit table scrolls sideways at 1366 px: {wrap[0]} > {wrap[1]}"
        right = page.evaluate("""() => { const ths = document.querySelectorAll('#dash-table thead th');
                                       return ths[ths.length - 1].getBoundingClientRect().right; }""")
        assert right <= LAPTOP["width"], f"the reminders column ends at {right}px, off a 1366 px screen"
        # the way down: a unit row leads to the unit's people and results
        link = page.locator("#dash-table a[href^='/annual/unit/']").first
        assert link.count() == 1, "no way down from the dashboard to a unit's people"
        shot(page, "dashboard-1366")
        link.click()
        page.wait_for_load_state()
        assert page.url.rsplit("/", 3)[-3] == "unit" or "/annual/unit/" in page.url
        person = page.locator("a[href^='/annual/person/']").first
        assert person.count() == 1, "the unit page offers no way down to a person"
        person.click()
        page.wait_for_load_state()
        assert "/annual/person/" in page.url and page.locator("h1").count() >= 1
        body = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
        assert not re.search(r"\{'|\bNone\b", body), "the person page shows Python values"
        shot(page, "person-1366")
    finally:
        ctx.close()


PAGES = [  # (user, path or callable(live_server) -> path, name)
    ("huangzhong_sup", "/supervision/", "dashboard"),
    ("duoba_admin", lambda ls: f"/annual/unit/{org_id(ls, '630122100')}/2025", "annual-unit"),
    ("duoba_admin", "/policy/", "policy"),
    ("duoba_admin", "/audit", "audit"),
    ("630122100-05002", lambda ls: f"/annual/unit/{org_id(ls, '630122100')}/2025", "annual-unit-leader"),
]


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("user,path,name", PAGES)
def test_fixed_pages_screenshots(chromium, live_server, login_as, shot, user, path, name, size):
    ctx = _ctx(chromium, size)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login_as(page, user)
        target = path(live_server) if callable(path) else path
        resp = page.goto(live_server.url(target))
        assert resp.status == 200, f"{target}: HTTP {resp.status}"
        if size == "phone":
            assert horizontal_overflow(page) <= 1, f"{target} is wider than a 390 px phone"
        shot(page, f"{name}-{size}")
        assert not errors, errors
    finally:
        ctx.close()
